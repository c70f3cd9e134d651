"""The contract loader's shared field readers (``_str``, ``_type_field``, unknown fields with a
did-you-mean) and the readers of an attribute's parts: joins, JSON constructions, calculations,
transformations, GSIs. Each collects its problems with JSON paths; :mod:`dynamigrate.contract.load`
reads tables, entities and attributes with them.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from dynamigrate.contract.model import (
    AGGREGATE_OPERATIONS,
    CALCULATION_TYPES,
    JOIN_TYPES,
    PROJECTIONS,
    TRANSFORMATION_TYPES,
    Calculation,
    Case,
    Construction,
    Gsi,
    Join,
    JoinStep,
    Transformation,
)
from dynamigrate.contract.problems import ProblemList, did_you_mean

TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")

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
