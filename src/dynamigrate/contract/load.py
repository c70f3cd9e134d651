"""Load a contract file into the typed model, checking its structure.

Structure problems (missing/ill-typed fields, unknown types, unknown fields) are collected with their
JSON paths; the loader never stops at the first one. Semantic checks that need the whole model live in
:mod:`dynamigrate.contract.validate`; checks against a live schema in :mod:`dynamigrate.contract.lint`.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from dynamigrate.contract.model import (
    AGGREGATE_OPERATIONS,
    ATTRIBUTE_TYPES,
    CALCULATION_TYPES,
    JOIN_TYPES,
    PROJECTIONS,
    TRANSFORMATION_TYPES,
    Attribute,
    Calculation,
    Case,
    Construction,
    Contract,
    Entity,
    Gsi,
    Join,
    JoinStep,
    Table,
    Transformation,
    content_hash,
)
from dynamigrate.contract.problems import ProblemList, did_you_mean
from dynamigrate.errors import ContractError

TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")

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
GSI_FIELDS = {"index_name", "pk", "sk", "projection", "projected_attributes", "description"}
JOIN_FIELDS: dict[str, set[str]] = {
    "foreign-key": {"target_table", "join_condition", "select_column"},
    "lookup-table": {"target_table", "join_condition", "select_column"},
    "multi-column": {"target_table", "join_conditions", "select_column"},
    "self-join": {"join_alias", "join_condition", "select_column", "null_value", "target_table"},
    "conditional": {"condition", "target_table", "join_condition", "select_column", "else_value"},
    "chain": {"joins", "chain_separator"},
    "json-construction": {"target_table", "join_condition", "construction"},
}
JOIN_REQUIRED: dict[str, tuple[str, ...]] = {
    "foreign-key": ("target_table", "join_condition", "select_column"),
    "lookup-table": ("target_table", "join_condition", "select_column"),
    "multi-column": ("target_table", "join_conditions", "select_column"),
    "self-join": ("join_alias", "join_condition", "select_column"),
    "conditional": ("condition", "target_table", "join_condition", "select_column", "else_value"),
    "chain": ("joins",),
    "json-construction": ("target_table", "join_condition", "construction"),
}
CALC_FIELDS: dict[str, set[str]] = {
    "aggregate": {"target_table", "join_condition", "operation", "select_column"},
    "case": {"cases", "else"},
    "concat": {"parts", "separator"},
    "date-math": {"expression", "interval", "format"},
}
CALC_REQUIRED: dict[str, tuple[str, ...]] = {
    "aggregate": ("target_table", "join_condition", "operation", "select_column"),
    "case": ("cases",),
    "concat": ("parts",),
    "date-math": ("expression", "interval"),
}
TRANSFORM_FIELDS: dict[str, set[str]] = {
    "string-format": {"format"},
    "template": {"template", "format"},
    "date-format": {"format", "source_format"},
    "number-format": {"format"},
    "json-parse": set(),
    "static": {"value"},
}
TRANSFORM_REQUIRED: dict[str, tuple[str, ...]] = {
    "string-format": ("format",),
    "date-format": ("format",),
    "number-format": ("format",),
    "static": ("value",),
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


# -- helpers -----------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _unknown(
    raw: dict[str, Any], known: set[str], path: str, problems: ProblemList, error: bool = True
) -> None:
    for key in raw:
        if key in known:
            continue
        guess = did_you_mean(key, sorted(known))
        fix = f"did you mean '{guess}'?" if guess else f"remove it; known fields: {', '.join(sorted(known))}"
        # a typo of a known field ('gsi' for 'gsis') would silently drop what it holds: an error
        if error or difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8):
            problems.error(f"{path}.{key}", f"unknown field '{key}'", fix)
        else:
            problems.warning(f"{path}.{key}", f"unknown field '{key}' is ignored", fix)


def _str(
    raw: dict[str, Any], key: str, path: str, problems: ProblemList, required: bool = True
) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            problems.error(f"{path}.{key}", f"missing required field '{key}'", f'add "{key}": "..."')
        return None
    if not isinstance(value, str):
        problems.error(
            f"{path}.{key}",
            f"'{key}' must be a string, got {_kind(value)}",
            f'write it as text: "{key}": "..."',
        )
        return None
    if required and not value.strip():
        problems.error(f"{path}.{key}", f"'{key}' must not be empty", f"give '{key}' a value")
        return None
    return value


def _type_field(
    raw: dict[str, Any], path: str, allowed: tuple[str, ...], what: str, problems: ProblemList
) -> str | None:
    value = _str(raw, "type", path, problems)
    if value is None:
        return None
    if value not in allowed:
        guess = did_you_mean(value, allowed)
        fix = f"did you mean '{guess}'?" if guess else f"use one of: {', '.join(allowed)}"
        problems.error(f"{path}.type", f"unknown {what} type '{value}'", fix)
        return None
    return value


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


def _require(raw: dict[str, Any], keys: tuple[str, ...], path: str, problems: ProblemList, what: str) -> bool:
    ok = True
    for key in keys:
        if raw.get(key) is None:
            problems.error(f"{path}.{key}", f"{what} needs '{key}'", f'add "{key}"')
            ok = False
    return ok


def _join(raw: Any, path: str, problems: ProblemList) -> Join | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"a join must be an object, got {_kind(raw)}",
            '{"type": "foreign-key", "target_table": ...}',
        )
        return None
    jtype = _type_field(raw, path, JOIN_TYPES, "join", problems)
    if jtype is None:
        return None
    _unknown(raw, JOIN_FIELDS[jtype] | {"type", "description"}, path, problems)
    ok = _require(raw, JOIN_REQUIRED[jtype], path, problems, f"a {jtype} join")
    for key in ("target_table", "join_condition", "select_column", "join_alias", "condition"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            problems.error(
                f"{path}.{key}", f"'{key}' must be a string, got {_kind(raw[key])}", "write it as SQL text"
            )
            ok = False
        elif isinstance(raw.get(key), str) and not raw[key].strip():
            problems.error(f"{path}.{key}", f"'{key}' must not be empty", f"write the {key} as SQL")
            ok = False
    conds: tuple[str, ...] = ()
    if jtype == "multi-column" and raw.get("join_conditions") is not None:
        jc = raw["join_conditions"]
        if not isinstance(jc, list) or not jc or not all(isinstance(c, str) and c.strip() for c in jc):
            problems.error(
                f"{path}.join_conditions",
                "must be a non-empty list of SQL conditions",
                '"join_conditions": ["a.x = b.x", "a.y = b.y"]',
            )
            ok = False
        else:
            conds = tuple(jc)
    steps: list[JoinStep] = []
    if jtype == "chain" and raw.get("joins") is not None:
        jl = raw["joins"]
        if not isinstance(jl, list) or not jl:
            problems.error(
                f"{path}.joins",
                "must be a non-empty list of joins",
                '"joins": [{"target_table": ..., "join_condition": ..., "select_column": ...}]',
            )
            ok = False
        else:
            for i, s in enumerate(jl):
                spath = f"{path}.joins[{i}]"
                if not isinstance(s, dict):
                    problems.error(
                        spath,
                        "a chain step must be an object",
                        "{target_table, join_condition, select_column}",
                    )
                    ok = False
                    continue
                _unknown(s, {"target_table", "join_condition", "select_column", "type"}, spath, problems)
                if _require(
                    s, ("target_table", "join_condition", "select_column"), spath, problems, "a chain step"
                ):
                    steps.append(JoinStep(s["target_table"], s["join_condition"], s["select_column"], spath))
                else:
                    ok = False
    sep = raw.get("chain_separator")
    if sep is not None and not isinstance(sep, str):
        problems.error(f"{path}.chain_separator", "must be a string", '"chain_separator": " > "')
        sep = None
    construction = None
    if jtype == "json-construction" and raw.get("construction") is not None:
        construction = _construction(raw["construction"], f"{path}.construction", problems)
        ok = ok and construction is not None
    if not ok:
        return None
    return Join(
        type=jtype,
        target_table=raw.get("target_table"),
        join_condition=raw.get("join_condition"),
        join_conditions=conds,
        select_column=raw.get("select_column"),
        join_alias=raw.get("join_alias"),
        null_value=raw.get("null_value"),
        condition=raw.get("condition"),
        else_value=raw.get("else_value"),
        joins=tuple(steps),
        chain_separator=sep,
        construction=construction,
        path=path,
    )


def _construction(raw: Any, path: str, problems: ProblemList) -> Construction | None:
    if not isinstance(raw, dict):
        problems.error(
            path, "construction must be an object", '{"type": "array", "select_columns": {"key": "column"}}'
        )
        return None
    _unknown(raw, {"type", "select_columns", "order_by", "limit"}, path, problems)
    ctype = _type_field(raw, path, ("array", "object"), "construction", problems)
    cols = raw.get("select_columns")
    ok = ctype is not None
    if not isinstance(cols, dict) or not cols:
        problems.error(
            f"{path}.select_columns",
            "must be a non-empty object of json key -> column",
            '"select_columns": {"product_id": "product_id"}',
        )
        ok = False
    elif any(not str(k).strip() for k in cols):
        problems.error(
            f"{path}.select_columns",
            "a JSON key of select_columns is empty: DynamoDB maps cannot have empty keys",
            "give every key a name",
        )
        ok = False
    elif not all(isinstance(v, str) and v.strip() for v in cols.values()):
        bad = next(k for k, v in cols.items() if not (isinstance(v, str) and v.strip()))
        problems.error(
            f"{path}.select_columns.{bad}",
            "must be a column name or SQL expression",
            f'"{bad}": "column_name"',
        )
        ok = False
    limit = raw.get("limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 1 or int(limit) != limit
    ):
        problems.error(f"{path}.limit", "must be a positive integer", '"limit": 10, or remove it')
        ok = False
    order_by = raw.get("order_by")
    if order_by is not None and not isinstance(order_by, str):
        problems.error(
            f"{path}.order_by",
            "must be an SQL ORDER BY expression such as 'created_at DESC'",
            '"order_by": "created_at DESC"',
        )
        ok = False
    if ctype == "object" and (limit is not None or order_by is not None):
        problems.warning(
            path, "order_by/limit only apply to array constructions", "remove them, or use type 'array'"
        )
    if not ok or ctype is None or not isinstance(cols, dict):
        return None
    return Construction(
        type=ctype,
        select_columns=tuple((str(k), str(v)) for k, v in cols.items()),
        order_by=order_by,
        limit=int(limit) if limit is not None else None,
        path=path,
    )


def _calculation(raw: Any, path: str, problems: ProblemList) -> Calculation | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"a calculation must be an object, got {_kind(raw)}",
            '{"type": "aggregate", "operation": "COUNT", ...}',
        )
        return None
    ctype = _type_field(raw, path, CALCULATION_TYPES, "calculation", problems)
    if ctype is None:
        return None
    _unknown(raw, CALC_FIELDS[ctype] | {"type", "description"}, path, problems)
    ok = _require(raw, CALC_REQUIRED[ctype], path, problems, f"a {ctype} calculation")
    op = raw.get("operation")
    if ctype == "aggregate" and op is not None:
        if not isinstance(op, str) or op.upper() not in AGGREGATE_OPERATIONS:
            problems.error(
                f"{path}.operation",
                f"unknown aggregate operation {op!r}",
                f"use one of: {', '.join(AGGREGATE_OPERATIONS)}",
            )
            ok = False
        else:
            op = op.upper()
    cases: list[Case] = []
    if ctype == "case" and raw.get("cases") is not None:
        cl = raw["cases"]
        if not isinstance(cl, list) or not cl:
            problems.error(
                f"{path}.cases",
                "must be a non-empty list of {when, then}",
                '"cases": [{"when": "status = 1", "then": "\'ACTIVE\'"}]',
            )
            ok = False
        else:
            for i, c in enumerate(cl):
                cpath = f"{path}.cases[{i}]"
                if not isinstance(c, dict):
                    problems.error(
                        cpath, "a case must be an object {when, then}", '{"when": "...", "then": "..."}'
                    )
                    ok = False
                    continue
                _unknown(c, {"when", "then"}, cpath, problems)
                if _require(c, ("when", "then"), cpath, problems, "a case"):
                    cases.append(Case(str(c["when"]), str(c["then"]), cpath))
                else:
                    ok = False
    parts: tuple[str, ...] = ()
    if ctype == "concat" and raw.get("parts") is not None:
        pl = raw["parts"]
        if not isinstance(pl, list) or not pl or not all(isinstance(p, str) for p in pl):
            problems.error(
                f"{path}.parts",
                "must be a non-empty list of SQL expressions",
                '"parts": ["first_name", "last_name"]',
            )
            ok = False
        else:
            parts = tuple(pl)
    if not ok:
        return None
    else_value = raw.get("else")
    return Calculation(
        type=ctype,
        target_table=raw.get("target_table"),
        join_condition=raw.get("join_condition"),
        operation=op,
        select_column=raw.get("select_column"),
        cases=tuple(cases),
        else_value=None if else_value is None else str(else_value),
        parts=parts,
        separator=str(raw.get("separator") or ""),
        expression=raw.get("expression"),
        interval=raw.get("interval"),
        date_format=raw.get("format"),
        path=path,
    )


def _transformation(raw: Any, path: str, problems: ProblemList) -> Transformation | None:
    if not isinstance(raw, dict):
        problems.error(
            path,
            f"a transformation must be an object, got {_kind(raw)}",
            '{"type": "string-format", "format": "USER#{id}"}',
        )
        return None
    ttype = _type_field(raw, path, TRANSFORMATION_TYPES, "transformation", problems)
    if ttype is None:
        return None
    _unknown(raw, TRANSFORM_FIELDS[ttype] | {"type", "description"}, path, problems)
    ok = _require(raw, TRANSFORM_REQUIRED.get(ttype, ()), path, problems, f"a {ttype} transformation")
    fmt = raw.get("format")
    if ttype == "template":
        fmt = raw.get("template", fmt)
        if fmt is None:
            problems.error(
                f"{path}.template", "a template transformation needs 'template'", '"template": "USER#{id}"'
            )
            ok = False
    if fmt is not None and not isinstance(fmt, str):
        problems.error(f"{path}.format", "must be a string", '"format": "..."')
        ok = False
    if not ok:
        return None
    return Transformation(
        type=ttype, format=fmt, value=raw.get("value"), source_format=raw.get("source_format"), path=path
    )


def _gsi(raw: Any, path: str, problems: ProblemList) -> Gsi | None:
    if not isinstance(raw, dict):
        problems.error(
            path, f"a GSI must be an object, got {_kind(raw)}", '{"index_name": ..., "pk": ..., "sk": ...}'
        )
        return None
    _unknown(raw, GSI_FIELDS, path, problems)
    name = _str(raw, "index_name", path, problems)
    if name is not None and not TABLE_NAME_RE.match(name):
        # a warning, not an error: DynamoDB refuses the name when the table is created, which says so
        # too, and the name is only a label for everything before that
        problems.warning(
            f"{path}.index_name",
            f"'{name}' is not a valid DynamoDB index name: creating the table will fail",
            "use 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'",
        )
    pk = _str(raw, "pk", path, problems)
    sk = raw.get("sk")
    if sk is not None and not isinstance(sk, str):
        problems.error(
            f"{path}.sk", "must be an attribute name or null", "name the sort key attribute, or remove 'sk'"
        )
        sk = None
    projection = raw.get("projection") or "ALL"
    if projection not in PROJECTIONS:
        problems.error(
            f"{path}.projection", f"unknown projection '{projection}'", f"use one of {', '.join(PROJECTIONS)}"
        )
        return None
    projected = raw.get("projected_attributes") or []
    if not isinstance(projected, list) or not all(isinstance(a, str) and a for a in projected):
        problems.error(
            f"{path}.projected_attributes",
            "must be a list of attribute names",
            '"projected_attributes": ["name", "price"]',
        )
        projected = [a for a in projected if isinstance(a, str) and a] if isinstance(projected, list) else []
    if projection == "INCLUDE" and not projected:
        problems.error(
            f"{path}.projected_attributes",
            "an INCLUDE projection needs 'projected_attributes'",
            "list the non-key attributes to project, or use ALL / KEYS_ONLY",
        )
    if projection != "INCLUDE" and projected:
        problems.warning(f"{path}.projected_attributes", f"ignored with projection {projection}")
        projected = []
    if name is None or pk is None:
        return None
    return Gsi(
        index_name=name,
        pk=pk,
        sk=sk or None,
        projection=projection,
        projected_attributes=tuple(str(a) for a in projected),
        path=path,
    )
