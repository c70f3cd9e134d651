"""Load a contract file into the typed model, checking its structure.

Structure problems (missing/ill-typed fields, unknown types, unknown fields) are collected with their
JSON paths; the loader never stops at the first one. Semantic checks that need the whole model live in
:mod:`dynamigrate.contract.validate`; checks against a live schema in :mod:`dynamigrate.contract.lint`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynamigrate.contract.load_parts import (
    TABLE_NAME_RE,
    _calculation,
    _gsi,
    _join,
    _kind,
    _str,
    _transformation,
    _type_field,
    _unknown,
)
from dynamigrate.contract.model import (
    ATTRIBUTE_TYPES,
    Attribute,
    Contract,
    Entity,
    Gsi,
    Table,
    content_hash,
)
from dynamigrate.contract.problems import ProblemList
from dynamigrate.errors import ContractError

TABLE_FIELDS = {
    "table",
    "type",
    "source_table",
    "pk",
    "sk",
    "gsis",
    "attributes",
    "entities",
    "satisfies",
    "estimated_item_size_bytes",
    "description",
    "notes",
    "filter",
}
ENTITY_FIELDS = {
    "entity_type",
    "source_table",
    "pk_template",
    "sk_template",
    "attributes",
    "description",
    "filter",
}
ATTRIBUTE_FIELDS = {
    "name",
    "type",
    "source_table",
    "source_column",
    "join",
    "calculation",
    "transformation",
    "denormalized",
    "justification",
    "description",
}


def load_contract(path: str | Path) -> Contract:
    """Read and parse a contract file; raise :class:`ContractError` listing every structural problem."""
    contract, problems = parse_contract_file(path)
    problems.raise_if_errors(f"contract {path} is invalid")
    assert contract is not None
    return contract


def parse_contract_file(path: str | Path) -> tuple[Contract | None, ProblemList]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(
            f"contract file not found: {p}", hint="check --contract / migration.contract_file"
        ) from None
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"contract file {p} is not UTF-8 text (byte {exc.start})",
            hint="save the contract as UTF-8 JSON",
        ) from None
    except OSError as exc:
        raise ContractError(
            f"cannot read contract file {p}: {exc.strerror or exc}",
            hint="check --contract / migration.contract_file and the file's permissions",
        ) from None
    return parse_contract_text(text, source=str(p))


def parse_contract_text(text: str, source: str | None = None) -> tuple[Contract | None, ProblemList]:
    if text.startswith("\ufeff"):  # a byte order mark (Windows editors write one): not part of the JSON
        text = text[1:]
    try:
        data = json.loads(text)
    except RecursionError:
        problems = ProblemList()
        problems.error(
            "$",
            "the JSON is nested too deeply to be a contract (thousands of levels)",
            "a contract nests a few levels: tables > attributes > join/calculation/transformation",
        )
        return None, problems
    except json.JSONDecodeError as exc:
        problems = ProblemList()
        problems.error(
            "$",
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "fix the JSON syntax (trailing commas and unquoted keys are the usual culprits)",
        )
        return None, problems
    contract, problems = parse_contract(data)
    if contract is not None:
        contract = Contract(
            tables=contract.tables, source=source, sha256=content_hash(text), wrapped=contract.wrapped
        )
    return contract, problems


def parse_contract(data: Any) -> tuple[Contract | None, ProblemList]:
    """Parse an already-decoded contract (with or without the ``tables`` wrapper)."""
    problems = ProblemList()
    wrapped = True
    if isinstance(data, list):
        tables_raw, wrapped, base = data, False, ""
    elif isinstance(data, dict):
        if "tables" not in data:
            problems.error("$", "missing 'tables'", 'wrap the table list as {"tables": [...]}')
            return None, problems
        _unknown(data, {"tables", "version", "description", "metadata"}, "$", problems, error=False)
        tables_raw, base = data["tables"], "tables"
        if not isinstance(tables_raw, list):
            problems.error(
                "tables",
                f"must be a list of tables, got {_kind(tables_raw)}",
                '"tables": [{"table": ...}, ...]',
            )
            return None, problems
    else:
        problems.error(
            "$",
            f"a contract is an object with 'tables' or a list of tables, got {_kind(data)}",
            'write {"tables": [...]}',
        )
        return None, problems
    if not tables_raw:
        problems.error(base or "$", "the contract defines no tables", "add at least one table")

    tables: list[Table] = []
    for i, raw in enumerate(tables_raw):
        path = f"{base}[{i}]"
        table = _table(raw, path, problems)
        if table is not None:
            tables.append(table)
    names = [t.name for t in tables]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.error(
                tables[i].path + ".table",
                f"duplicate DynamoDB table name '{name}'",
                "give each table a unique name",
            )
    for i, t in enumerate(tables):
        if t.view_name in [u.view_name for u in tables[:i]]:
            problems.error(
                t.path + ".table",
                f"table '{t.name}' maps to view {t.view_name} like an earlier table (names differ only in case)",
                "rename one of the tables",
            )
    return Contract(tables=tuple(tables), wrapped=wrapped), problems


def _table(raw: Any, path: str, problems: ProblemList) -> Table | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"a table must be an object, got {_kind(raw)}",
            '{"table": ..., "pk": ..., "attributes": [...]}',
        )
        return None
    _unknown(raw, TABLE_FIELDS, path, problems, error=False)
    name = _str(raw, "table", path, problems)
    if name is not None and not TABLE_NAME_RE.match(name):
        problems.error(
            f"{path}.table",
            f"'{name}' is not a valid DynamoDB table name",
            "use 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'",
        )
    ttype = _str(raw, "type", path, problems, required=False)
    if ttype is None:
        ttype = "multi-entity" if "entities" in raw else "single-entity"
        if "entities" in raw or "attributes" in raw:
            problems.warning(f"{path}.type", f"missing 'type'; assumed '{ttype}'", f'add "type": "{ttype}"')
    elif ttype not in ("single-entity", "multi-entity"):
        problems.error(
            f"{path}.type", f"unknown table type '{ttype}'", "use 'single-entity' or 'multi-entity'"
        )
        return None
    pk = _str(raw, "pk", path, problems)
    sk = raw.get("sk")
    if sk is not None and (not isinstance(sk, str) or not sk.strip()):
        problems.error(
            f"{path}.sk", "'sk' must be an attribute name or null", "use null for a table without sort key"
        )
        sk = None
    source_table = raw.get("source_table")

    entities: list[Entity] = []
    if ttype == "multi-entity":
        if raw.get("filter") is not None:
            problems.error(
                f"{path}.filter",
                "a multi-entity table takes a 'filter' per entity (each entity has its own source table)",
                "move the condition into entities[].filter of every entity it applies to",
            )
        if "attributes" in raw and "entities" not in raw:
            problems.error(
                f"{path}.entities",
                "a multi-entity table needs 'entities' (it has 'attributes')",
                'set "type": "single-entity", or move the attributes into entities[].attributes',
            )
        ents = raw.get("entities")
        if not isinstance(ents, list) or not ents:
            if "entities" in raw:
                problems.error(
                    f"{path}.entities", "must be a non-empty list of entities", "list at least one entity"
                )
            elif "attributes" not in raw:
                problems.error(
                    f"{path}.entities",
                    "missing 'entities': a multi-entity table lists its entities",
                    'add "entities": [{"entity_type": ..., "source_table": ..., "attributes": [...]}]',
                )
        else:
            for j, eraw in enumerate(ents):
                entity = _entity(eraw, f"{path}.entities[{j}]", problems)
                if entity is not None:
                    entities.append(entity)
            types = [e.entity_type for e in entities]
            for j, et in enumerate(types):
                if et in types[:j]:
                    problems.error(
                        f"{entities[j].path}.entity_type",
                        f"duplicate entity_type '{et}'",
                        "give each entity a unique entity_type",
                    )
        if "attributes" in raw and "entities" in raw:
            problems.warning(
                f"{path}.attributes", "ignored: a multi-entity table takes attributes from its entities"
            )
    else:
        if "entities" in raw:
            problems.error(
                f"{path}.entities",
                "a single-entity table takes 'attributes', not 'entities'",
                'set "type": "multi-entity", or use a top-level \'attributes\' list',
            )
        st = _str(raw, "source_table", path, problems)
        attrs = _attributes(raw, path, problems, default_source=st)
        row_filter = _filter(raw, path, problems)
        if st is not None and attrs is not None:
            entities.append(
                Entity(entity_type=st, source_table=st, attributes=attrs, path=path, filter=row_filter)
            )
    if isinstance(source_table, str):
        src = source_table
    else:
        src = entities[0].source_table if entities else ""

    gsis: list[Gsi] = []
    graw = raw.get("gsis", [])
    if graw is None:
        graw = []
    if not isinstance(graw, list):
        problems.error(
            f"{path}.gsis", f"must be a list, got {_kind(graw)}", '"gsis": [{"index_name": ..., "pk": ...}]'
        )
        graw = []
    for k, g in enumerate(graw):
        gsi = _gsi(g, f"{path}.gsis[{k}]", problems)
        if gsi is not None:
            gsis.append(gsi)
    index_names = [g.index_name for g in gsis]
    for k, n in enumerate(index_names):
        if n in index_names[:k]:
            problems.error(
                f"{gsis[k].path}.index_name", f"duplicate index name '{n}'", "give each index a unique name"
            )

    satisfies = raw.get("satisfies") or []
    if not isinstance(satisfies, list):
        problems.warning(f"{path}.satisfies", "should be a list of access pattern ids")
        satisfies = []
    size = raw.get("estimated_item_size_bytes")
    if size is not None and (not isinstance(size, int | float) or isinstance(size, bool) or size < 0):
        problems.warning(f"{path}.estimated_item_size_bytes", "should be a positive number of bytes")
        size = None
    if name is None or pk is None or ttype is None:
        return None
    return Table(
        name=name,
        type=ttype,
        source_table=src,
        pk=pk,
        sk=sk,
        entities=tuple(entities),
        gsis=tuple(gsis),
        satisfies=tuple(str(s) for s in satisfies),
        estimated_item_size_bytes=size,
        path=path,
    )


def _entity(raw: Any, path: str, problems: ProblemList) -> Entity | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"an entity must be an object, got {_kind(raw)}",
            '{"entity_type": ..., "source_table": ..., "attributes": [...]}',
        )
        return None
    _unknown(raw, ENTITY_FIELDS, path, problems, error=False)
    et = _str(raw, "entity_type", path, problems)
    st = _str(raw, "source_table", path, problems)
    pk_t = _str(raw, "pk_template", path, problems, required=False)
    sk_t = _str(raw, "sk_template", path, problems, required=False)
    attrs = _attributes(raw, path, problems, default_source=st)
    row_filter = _filter(raw, path, problems)
    if et is None or st is None or attrs is None:
        return None
    return Entity(
        entity_type=et,
        source_table=st,
        attributes=attrs,
        pk_template=pk_t if isinstance(pk_t, str) else None,
        sk_template=sk_t if isinstance(sk_t, str) else None,
        path=path,
        filter=row_filter,
    )


def _filter(raw: dict[str, Any], path: str, problems: ProblemList) -> str | None:
    """dynamigrate's extension: ``filter``, an SQL condition over the source row (its SQL is checked
    by contract/validate.py with the same rules as every other fragment)."""
    value = raw.get("filter")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.error(
            f"{path}.filter",
            f"'filter' must be an SQL condition over the source row, got {_kind(value) if not isinstance(value, str) else 'an empty text'}",
            '"filter": "deleted_at IS NULL", or remove it',
        )
        return None
    return value


def _attributes(
    raw: dict[str, Any], path: str, problems: ProblemList, default_source: str | None
) -> tuple[Attribute, ...] | None:
    araw = raw.get("attributes")
    if araw is None:
        problems.error(f"{path}.attributes", "missing 'attributes'", "list the attributes of the items")
        return None
    if not isinstance(araw, list) or not araw:
        problems.error(
            f"{path}.attributes", "must be a non-empty list of attributes", "list at least one attribute"
        )
        return None
    attrs: list[Attribute] = []
    for i, a in enumerate(araw):
        attr = _attribute(a, f"{path}.attributes[{i}]", problems, default_source)
        if attr is not None:
            attrs.append(attr)
    seen: set[str] = set()  # a set, not names[:i]: linear in the number of attributes
    for attr in attrs:
        if attr.name in seen:
            problems.error(
                f"{attr.path}.name",
                f"duplicate attribute '{attr.name}' in the same entity",
                "remove or rename one of them",
            )
        seen.add(attr.name)
    return tuple(attrs)


def _attribute(raw: Any, path: str, problems: ProblemList, default_source: str | None) -> Attribute | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"an attribute must be an object, got {_kind(raw)}",
            '{"name": ..., "type": "S", "source_column": ...}',
        )
        return None
    _unknown(raw, ATTRIBUTE_FIELDS, path, problems, error=False)
    name = _str(raw, "name", path, problems)
    atype = _type_field(raw, path, ATTRIBUTE_TYPES, "attribute", problems)
    source_table = raw.get("source_table", default_source)
    if source_table is not None and not isinstance(source_table, str):
        problems.error(f"{path}.source_table", "must be a table name", '"source_table": "users"')
        source_table = None
    sc = raw.get("source_column")
    source_column: str | tuple[str, ...] | None
    if isinstance(sc, list):
        if not all(isinstance(c, str) and c for c in sc):
            problems.error(
                f"{path}.source_column",
                "a list of source columns must hold column names",
                '"source_column": ["first_name", "last_name"]',
            )
        source_column = tuple(str(c) for c in sc)
    elif sc is None or isinstance(sc, str):
        source_column = sc
        if isinstance(sc, str) and not sc.strip():
            problems.error(
                f"{path}.source_column", "'source_column' is empty", "name the column the value comes from"
            )
            source_column = None
    else:
        problems.error(
            f"{path}.source_column",
            f"must be a column name or a list of them, got {_kind(sc)}",
            '"source_column": "email"',
        )
        source_column = None

    present = [k for k in ("join", "calculation", "transformation") if raw.get(k) is not None]
    if len(present) > 1:
        problems.error(
            path,
            f"has both {' and '.join(present)}: an attribute takes at most one of join/calculation/transformation",
            "split it into two attributes, or express the whole value as one calculation",
        )
    join = _join(raw["join"], f"{path}.join", problems) if raw.get("join") is not None else None
    calc = (
        _calculation(raw["calculation"], f"{path}.calculation", problems)
        if raw.get("calculation") is not None
        else None
    )
    trans = (
        _transformation(raw["transformation"], f"{path}.transformation", problems)
        if raw.get("transformation") is not None
        else None
    )
    if (
        join is None
        and calc is None
        and trans is None
        and not present
        and source_column is None
        and atype not in ("NULL",)
    ):
        problems.error(
            f"{path}.source_column",
            "missing 'source_column' (the attribute has no join/calculation/transformation)",
            "name the column the value comes from",
        )
    denorm = raw.get("denormalized", False)
    if denorm is not None and not isinstance(denorm, bool):
        problems.warning(
            f"{path}.denormalized",
            f"'denormalized' should be true or false, got {_kind(denorm)} (read as {bool(denorm)})",
            '"denormalized": true',
        )
    if name is None or atype is None:
        return None
    return Attribute(
        name=name,
        type=atype,
        source_table=source_table,
        source_column=source_column,
        join=join,
        calculation=calc,
        transformation=trans,
        denormalized=bool(denorm),
        justification=raw.get("justification") if isinstance(raw.get("justification"), str) else None,
        path=path,
    )
