"""The data of an evaluation plan: slots (the rows fetched with one single-table SELECT each), how
their rows pair up, and the plan of an entity (see :mod:`.plan` for how a contract becomes one)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Entity, Table
from dynamigrate.evaluate import nodes as N
from dynamigrate.evaluate.fragments import ROW_ALIAS, Fragment, quote
from dynamigrate.evaluate.schema import BaseTable

SOURCE = "src"
#: the alias of the other row when a join-condition part over two rows is evaluated
OTHER_ALIAS = "_o"


@dataclass
class Pair:
    """``this.column = <value of expression ``index`` of slot ``other``>``."""

    other: str
    index: int
    column: str
    other_column: str | None  # the other side's base column (for numeric/collation matching)
    #: text on both sides: the other slot's expression giving the collation weight of the value (the
    #: server's ``WEIGHT_STRING``), so rows match exactly as the collation compares them
    weight_index: int | None = None
    #: the collation both sides' weights are taken under when the two columns' collations differ (the
    #: one the server compares with: the ``_bin`` one), else None (each column's own)
    collation: str | None = None


@dataclass
class Cross:
    """A join-condition part over the target row *and* another row that is not an equality of columns
    (``p.valid_from <= o.created_at``): the server evaluates it for each (row, candidate) pair the
    equalities found, both rows located by their keys; which pairs are tested is Python."""

    other: str
    sql: str  # 1/0 over `_o` (the other row) and `_t` (the candidate)
    other_keys: list[int]  # expressions of the other slot: its row key
    other_key_columns: tuple[str, ...]
    target_keys: list[int]  # expressions of the target slot: its primary key


@dataclass
class Slot:
    id: str
    table: BaseTable
    kind: str  # source | one | many
    exprs: list[str] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    gates: list[tuple[str, int]] = field(default_factory=list)  # (slot, index of a 1/0 expression)
    order: list[tuple[int, bool]] = field(default_factory=list)  # (expression index, descending)
    order_weights: list[int] = field(default_factory=list)  # collation weight of each order item
    limit: int | None = None
    signature: str = ""
    #: to-many slot of an aggregate: rows are folded while they stream, never kept
    aggregate: N.Aggregate | None = None
    cross: list[Cross] = field(default_factory=list)

    def add(self, sql: str) -> int:
        if sql in self.exprs:
            return self.exprs.index(sql)
        self.exprs.append(sql)
        return len(self.exprs) - 1

    def weight(self, index: int, collation: str | None = None) -> int:
        """The collation sort weight of expression ``index`` (for text values; PAD SPACE: trailing spaces
        do not count), under ``collation`` when given (else the expression's own)."""
        return self.add(weight_sql(self.exprs[index], collation))

    def column(self, name: str) -> int:
        sql = f"{quote(ROW_ALIAS)}.{quote(name)}"
        col = self.table.column(name)
        if col is not None and col.data_type == "float":
            sql = f"CAST({sql} AS DOUBLE)"  # exact: see Fragment.render
        elif col is not None and col.data_type == "bit":
            sql = f"CAST({sql} AS UNSIGNED)"  # its number, as the view reads it (sqlgen value_col)
        return self.add(sql)


@dataclass
class AttrPlan:
    attribute: Attribute
    node: N.Node


@dataclass
class Plan:
    table: Table
    entity: Entity
    slots: dict[str, Slot]
    attributes: list[AttrPlan]
    filter_sql: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> Slot:
        return self.slots[SOURCE]


class Scope:
    """Qualifier (lower case) -> slot, plus the slot of unqualified columns (None: decide with the
    schema among ``candidates``) and the slot an undeclared qualifier stands for (conditionals)."""

    def __init__(
        self,
        mapping: dict[str, str],
        default: str | None,
        candidates: tuple[str, ...] = (),
        undeclared: str | None = None,
    ):
        self.mapping = mapping
        self.default = default
        self.candidates = candidates
        self.undeclared = undeclared


def is_json_column(slot: Slot, frag: Fragment) -> bool:
    if isinstance(frag.tree, exp.Column):
        col = slot.table.column(frag.tree.name)
        return col is not None and col.data_type == "json"
    return False


def sql_text(text: str) -> str:
    """A string literal that means the same in every sql_mode (hex when it holds a backslash)."""
    if "\\" in text or any(ord(ch) < 32 for ch in text):
        return f"CAST(X'{text.encode('utf-8').hex()}' AS CHAR CHARACTER SET utf8mb4)"
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"  # '%' doubled: see fragments.quote


def static_text(value: Any, atype: str) -> Any:
    """A ``static`` value (or ``null_value``/``else_value`` literal) as the view emits it: numbers as
    their JSON text, booleans 1/0 for BOOL and 'true'/'false' otherwise, objects/lists as JSON text."""
    if value is None:
        return None
    if isinstance(value, bool):
        if atype == "BOOL":
            return 1 if value else 0
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def weight_sql(expr: str, collation: str | None = None) -> str:
    """``WEIGHT_STRING`` of a text value without its trailing spaces, under ``collation`` if given."""
    text = f"TRIM(TRAILING ' ' FROM {expr})"
    if collation is not None:
        text = f"{text} COLLATE {collation}"
    return f"WEIGHT_STRING({text})"


def common_collation(a: str | None, b: str | None) -> str | None:
    """The collation the server compares two text columns with when theirs differ: the ``_bin`` one of
    the same character set (a ``utf8mb4_bin`` key joined from a ``utf8mb4_general_ci`` column), else
    None (each side's weights under its own collation, as before)."""
    if not a or not b or a == b or a.split("_")[0] != b.split("_")[0]:
        return None
    bins = [c for c in (a, b) if c.endswith("_bin")]
    return bins[0] if len(bins) == 1 and re.fullmatch(r"[A-Za-z0-9_]+", bins[0]) else None
