"""Typed model of a migration contract (see docs/contract-format.md).

The model is immutable and carries, for every element, the JSON path it came from (``path``), so that
later stages (semantic validation, schema lint, SQL generation) can report problems precisely.
Single-entity tables are normalised to one :class:`Entity` so that every consumer handles one shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

SCALAR_TYPES = ("S", "N", "B")
SET_TYPES = ("SS", "NS", "BS")
DOCUMENT_TYPES = ("M", "L")
ATTRIBUTE_TYPES = (*SCALAR_TYPES, *SET_TYPES, *DOCUMENT_TYPES, "BOOL", "NULL")
KEY_TYPES = SCALAR_TYPES

JOIN_TYPES = (
    "foreign-key",
    "lookup-table",
    "multi-column",
    "self-join",
    "conditional",
    "chain",
    "json-construction",
)
CALCULATION_TYPES = ("aggregate", "case", "concat", "date-math")
TRANSFORMATION_TYPES = ("string-format", "date-format", "number-format", "json-parse", "static", "template")
AGGREGATE_OPERATIONS = ("SUM", "COUNT", "AVG", "MIN", "MAX")
PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")

#: Columns of a generated view that are not DynamoDB attributes start with this prefix.
HELPER_PREFIX = "_dm_"
#: Helper column: the entity type of the row (multi-entity tables; the source table for single-entity).
ENTITY_COLUMN = "_dm_entity"
#: Helper column: the source row's numeric primary key (chunked reads, Spark partitioning, resume).
ROWID_COLUMN = "_dm_rowid"


@dataclass(frozen=True)
class Transformation:
    type: str
    format: str | None = None
    value: Any = None
    source_format: str | None = None
    path: str = ""

    @property
    def template(self) -> str | None:
        """The format text of string-format / template transformations."""
        return self.format


@dataclass(frozen=True)
class JoinStep:
    target_table: str
    join_condition: str
    select_column: str
    path: str = ""


@dataclass(frozen=True)
class Construction:
    type: str  # array | object
    select_columns: tuple[tuple[str, str], ...]  # (json key, column expression), contract order
    order_by: str | None = None
    limit: int | None = None
    path: str = ""


@dataclass(frozen=True)
class Join:
    type: str
    target_table: str | None = None
    join_condition: str | None = None
    join_conditions: tuple[str, ...] = ()
    select_column: str | None = None
    join_alias: str | None = None
    null_value: Any = None
    condition: str | None = None
    else_value: Any = None
    joins: tuple[JoinStep, ...] = ()
    chain_separator: str | None = None
    construction: Construction | None = None
    path: str = ""


@dataclass(frozen=True)
class Case:
    when: str
    then: str
    path: str = ""


@dataclass(frozen=True)
class Calculation:
    type: str
    target_table: str | None = None
    join_condition: str | None = None
    operation: str | None = None
    select_column: str | None = None
    cases: tuple[Case, ...] = ()
    else_value: str | None = None
    # concat: parts (SQL expressions) joined by separator (NULL parts skipped)
    parts: tuple[str, ...] = ()
    separator: str = ""
    # date-math: base column/expression plus an interval, e.g. {"expression": "created_at", "add": "30 DAY"}
    expression: str | None = None
    interval: str | None = None
    date_format: str | None = None
    path: str = ""


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    source_table: str | None
    source_column: str | tuple[str, ...] | None
    join: Join | None = None
    calculation: Calculation | None = None
    transformation: Transformation | None = None
    denormalized: bool = False
    justification: str | None = None
    path: str = ""

    @property
    def source_columns(self) -> tuple[str, ...]:
        if self.source_column is None:
            return ()
        if isinstance(self.source_column, tuple):
            return self.source_column
        return (self.source_column,)

    @property
    def derivation(self) -> str:
        """'column', or the kind of join/calculation/transformation that computes the value."""
        if self.join:
            return f"join:{self.join.type}"
        if self.calculation:
            return f"calculation:{self.calculation.type}"
        if self.transformation:
            return f"transformation:{self.transformation.type}"
        return "column"


@dataclass(frozen=True)
class Gsi:
    index_name: str
    pk: str
    sk: str | None = None
    projection: str = "ALL"
    projected_attributes: tuple[str, ...] = ()
    path: str = ""

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.pk,) if self.sk is None else (self.pk, self.sk)


@dataclass(frozen=True)
class Entity:
    entity_type: str
    source_table: str
    attributes: tuple[Attribute, ...]
    pk_template: str | None = None
    sk_template: str | None = None
    path: str = ""
    #: dynamigrate's extension: an SQL condition over the entity's source row; rows it excludes are
    #: counted as *filtered*, not migrated (``filter`` on the entity, or on a single-entity table).
    filter: str | None = None

    def attribute(self, name: str) -> Attribute | None:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)


@dataclass(frozen=True)
class Table:
    name: str
    type: str  # single-entity | multi-entity
    source_table: str
    pk: str
    sk: str | None
    entities: tuple[Entity, ...]
    gsis: tuple[Gsi, ...] = ()
    satisfies: tuple[str, ...] = ()
    estimated_item_size_bytes: float | None = None
    path: str = ""

    @property
    def multi_entity(self) -> bool:
        return self.type == "multi-entity"

    @property
    def view_name(self) -> str:
        return f"ddb_{self.name.lower()}_view"

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.pk,) if self.sk is None else (self.pk, self.sk)

    @property
    def index_key_names(self) -> tuple[str, ...]:
        """Attribute names used as a key by some GSI (each once, in contract order)."""
        seen: dict[str, None] = {}
        for gsi in self.gsis:
            for name in gsi.key_names:
                seen.setdefault(name, None)
        return tuple(seen)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Union of attribute names over the entities, in first-seen order (the view's columns)."""
        seen: dict[str, None] = {}
        for entity in self.entities:
            for attr in entity.attributes:
                seen.setdefault(attr.name, None)
        return tuple(seen)

    def attribute_type(self, name: str) -> str | None:
        """The DynamoDB type of an attribute (the first entity that defines it decides)."""
        for entity in self.entities:
            attr = entity.attribute(name)
            if attr is not None:
                return attr.type
        return None

    def attribute_types(self) -> dict[str, str]:
        return {name: self.attribute_type(name) or "S" for name in self.attribute_names}


@dataclass(frozen=True)
class Contract:
    tables: tuple[Table, ...]
    source: str | None = None  # file path, when loaded from a file
    sha256: str = ""
    wrapped: bool = True  # had the {"tables": [...]} wrapper
    interpretations: tuple[str, ...] = field(default=())

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name or table.name.lower() == name.lower():
                return table
        from dynamigrate.errors import ContractError

        known = ", ".join(t.name for t in self.tables)
        raise ContractError(f"no table named '{name}' in the contract", hint=f"known tables: {known}")

    def select(self, names: list[str] | tuple[str, ...] | None) -> tuple[Table, ...]:
        """The tables named (all when ``names`` is empty), in contract order."""
        if not names:
            return self.tables
        wanted = [self.table(n).name for n in names]
        return tuple(t for t in self.tables if t.name in wanted)


def content_hash(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
