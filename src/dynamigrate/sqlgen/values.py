"""Attribute values computed from the source row: transformations and calculations.

:class:`_Values` adds to the builder's scope (sqlgen/scope.py) the SQL of string-format/template,
static, json-parse, date-format (with ``source_format``, sqlgen/dates.py) and number-format
transformations, and of case, concat, date-math and aggregate calculations (an aggregate is a
correlated scalar subquery, so one source row stays one view row).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Calculation, Transformation
from dynamigrate.contract.validate import source_format_problem
from dynamigrate.errors import ContractError, SqlGenError
from dynamigrate.sqlgen.dates import read_date_sql
from dynamigrate.sqlgen.safety import parse_fragment
from dynamigrate.sqlgen.scope import _QUALIFIED_REF, _Names, _Scope

_DATE_TOKENS = (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%i"), ("ss", "%s"))

_NUMBER_FORMAT = re.compile(r"^(0+)(?:\.(0+))?$")
#: a number as text (what number-format may read from a text column); no backslash (sql_mode-proof)
_NUMBER_TEXT = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_INTERVAL = re.compile(
    r"^\s*([+-]?\d+)\s+(MICROSECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?\s*$", re.IGNORECASE
)


class _Values(_Scope):
    """Transformations and calculations over the entity's scope."""

    def transformation_value(self, attr: Attribute, t: Transformation) -> str:
        if t.type in ("string-format", "template"):
            return self.string_format(t.format or "", t.path)
        if t.type == "static":
            return self.static_literal(t.value, attr)
        if t.type == "json-parse":
            # the column holds JSON text; the item encoder parses it (and rejects invalid JSON with a reason)
            return self.source_column(attr)
        if t.type == "date-format":
            column = self.source_column(attr)
            src = self.read_source_date(attr, t, column) if t.source_format else column
            formatted = f"DATE_FORMAT({src}, {self.d.literal(date_format_spec(t.format or ''))})"
            # a zero or partial date ('0000-00-00', '2024-00-15': MySQL's "no date") is no date: NULL,
            # which preflight counts (value_lost), never the text '0000/00/00'; the evaluator agrees
            value = f"CASE WHEN MONTH({src}) = 0 OR DAYOFMONTH({src}) = 0 THEN NULL ELSE {formatted} END"
            self.probe_value(attr, "transformation", t.path, [column], value)
            return value
        if t.type == "number-format":
            column = self.source_column(attr)
            value = self.number_format(column, t.format or "", t.path)
            info = self.column_info(self.src_alias, attr.source_columns[0].split(".")[-1].strip("` "))
            if info is None or not info.is_numeric:
                # text that is not a number would be formatted as 0 (MySQL reads 'abc' as 0): NULL
                # instead, which preflight counts (value_lost)
                value = f"CASE WHEN TRIM(CAST({column} AS CHAR)) REGEXP {self.d.literal(_NUMBER_TEXT)} THEN {value} END"
            self.probe_value(attr, "transformation", t.path, [column], value)
            return value
        raise SqlGenError(f"unsupported transformation '{t.type}'", path=t.path, table=self.table.name)

    def read_source_date(self, attr: Attribute, t: Transformation, src: str) -> str:
        """The column read per ``source_format`` (sqlgen/dates.py); a DATE/DATETIME/TIMESTAMP column
        is a date already, so the source_format is not needed (certain, noted)."""
        source_format = t.source_format or ""
        problem = source_format_problem(source_format)
        if problem is not None:
            raise ContractError(
                problem[0], path=f"{t.path}.source_format", table=self.table.name, hint=problem[1]
            )
        info = self.column_info(self.src_alias, attr.source_columns[0].split(".")[-1].strip("` "))
        if info is not None and info.data_type in ("date", "datetime", "timestamp"):
            self.note(
                f"{t.path}.source_format",
                f"source_format '{source_format}' not applied: column {self.src}.{info.name} is "
                f"{info.data_type.upper()}, a date already",
            )
            return src
        return read_date_sql(src, source_format, self.d.literal, date_format_spec)

    def string_format(self, fmt: str, path: str) -> str:
        parts: list[str] = []
        literal = ""
        i = 0
        while i < len(fmt):
            ch = fmt[i]
            if fmt.startswith("{{", i) or fmt.startswith("}}", i):
                literal += ch
                i += 2
                continue
            if ch == "{":
                end = fmt.find("}", i)
                if end < 0:
                    raise ContractError(
                        f"unclosed '{{' in format {fmt!r}",
                        path=f"{path}.format",
                        table=self.table.name,
                        hint="close the placeholder, or write '{{' for a literal brace",
                    )
                name = fmt[i + 1 : end].strip()
                m = _QUALIFIED_REF.match(name)
                if m:
                    if m.group(1).lower() != self.src.lower():
                        raise ContractError(
                            f"placeholder '{{{name}}}' names table {m.group(1)}; placeholders name columns of "
                            f"the source row ({self.src})",
                            path=f"{path}.format",
                            table=self.table.name,
                            hint="join the other table in a separate attribute, or use a chain join",
                        )
                    name = m.group(2)
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$ ]*", name):
                    raise ContractError(
                        f"placeholder '{{{name}}}' in format {fmt!r} is not a column name",
                        path=f"{path}.format",
                        table=self.table.name,
                        hint="placeholders name columns of the source row, e.g. {id}",
                    )
                self.check_column(self.src_alias, name, f"{path}.format")
                if literal:
                    parts.append(self.d.literal(literal))
                    literal = ""
                parts.append(self.text_col(self.src_alias, name))
                i = end + 1
                continue
            literal += ch
            i += 1
        if literal:
            parts.append(self.d.literal(literal))
        if not parts:
            return self.d.literal("")
        if len(parts) == 1:
            return parts[0]
        # CONCAT gives NULL when a placeholder is NULL: a key built from a NULL column is rejected with a
        # reason rather than written with a hole in it.
        return f"CONCAT({', '.join(parts)})"

    def static_literal(self, value: Any, attr: Attribute) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            if attr.type == "BOOL":
                return "1" if value else "0"
            return self.d.literal("true" if value else "false")
        if isinstance(value, int | float):
            return self.d.literal(json.dumps(value))
        if isinstance(value, dict | list):
            return self.d.literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        return self.d.literal(str(value))

    def number_format(self, src: str, fmt: str, path: str) -> str:
        m = _NUMBER_FORMAT.match(fmt.strip())
        if not m:
            raise ContractError(
                f"unsupported number format {fmt!r}",
                path=f"{path}.format",
                table=self.table.name,
                hint="use zeros: '000000' (integer padded to 6 digits) or '0.00' (2 decimals)",
            )
        width = len(m.group(1))
        decimals = len(m.group(2) or "")
        rounded = f"ROUND({src}, {decimals})"
        digits = self.d.to_text(f"CAST(ABS({rounded}) AS DECIMAL(65,{decimals}))")
        if width > 1:
            # pad to the width, never truncate (LPAD cuts longer values): GREATEST(width, length). A negative
            # number keeps its sign in front of the padded digits ('-0042'); such keys do not sort
            # numerically (docs/views.md). A NULL source gives NULL (CONCAT).
            total = width + (decimals + 1 if decimals else 0)
            digits = f"LPAD({digits}, GREATEST({total}, CHAR_LENGTH({digits})), '0')"
        return f"CONCAT(CASE WHEN {rounded} < 0 THEN '-' ELSE '' END, {digits})"

    # calculations

    def calculation_value(self, attr: Attribute, c: Calculation) -> str:
        if c.type == "aggregate":
            target = c.target_table or self.src
            sub = self.allocate_alias(target)
            self.alias_tables[sub.lower()] = target
            where, _ = self.to_many_where(target, c.join_condition or "", f"{c.path}.join_condition", sub)
            op = (c.operation or "").upper()
            if op not in ("SUM", "COUNT", "AVG", "MIN", "MAX"):
                raise ContractError(
                    f"unknown aggregate operation {c.operation!r}",
                    path=f"{c.path}.operation",
                    table=self.table.name,
                    hint="use one of SUM, COUNT, AVG, MIN, MAX",
                )
            sel_text = (c.select_column or "").strip()
            distinct = ""
            m = re.match(r"(?i)^DISTINCT\s+(.+)$", sel_text)
            if m:
                distinct, sel_text = "DISTINCT ", m.group(1)
            if sel_text == "*":
                if op != "COUNT":
                    raise ContractError(
                        f"{op}(*) is not valid SQL",
                        path=f"{c.path}.select_column",
                        table=self.table.name,
                        hint="name a column",
                    )
                sel = "*"
            else:
                # the related rows' own name wins when they are the source table itself
                names = _Names({self.src.lower(): self.src_alias, target.lower(): sub}, sub)
                sel = self.render(sel_text, f"{c.path}.select_column", "select_column", names)
            # a scalar subquery without GROUP BY always returns one row: COUNT of nothing is 0, the others NULL
            return f"(SELECT {op}({distinct}{sel}) FROM {self.q(target)} AS {self.q(sub)} WHERE {where})"
        names = self.source_names()
        if c.type == "case":
            parts = []
            for case in c.cases:
                w = self.render(case.when, f"{case.path}.when", "when", names)
                t = self.case_result(case.then, f"{case.path}.then", names)
                parts.append(f"WHEN {w} THEN {t}")
            else_sql = self.case_result(c.else_value, f"{c.path}.else", names)  # NULL without one
            return f"CASE {' '.join(parts)} ELSE {else_sql} END"
        if c.type == "concat":
            parts = [
                self.render(p, f"{c.path}.parts[{i}]", "concat part", names) for i, p in enumerate(c.parts)
            ]
            return _concat_skipping_nulls(self.d.literal(c.separator), parts)
        if c.type == "date-math":
            m = _INTERVAL.match(c.interval or "")
            if not m:
                raise ContractError(
                    f"unsupported interval {c.interval!r}",
                    path=f"{c.path}.interval",
                    table=self.table.name,
                    hint="write '<integer> <unit>', e.g. '30 DAY' or '-1 MONTH'",
                )
            base = self.render(c.expression or "", f"{c.path}.expression", "expression", names)
            value = f"DATE_ADD({base}, INTERVAL {int(m.group(1))} {m.group(2).upper()})"
            if c.date_format:
                value = f"DATE_FORMAT({value}, {self.d.literal(date_format_spec(c.date_format))})"
            self.probe_value(attr, "calculation", c.path, [f"({base})"], value)
            return value
        raise SqlGenError(f"unsupported calculation '{c.type}'", path=c.path, table=self.table.name)

    def case_result(self, text: str | None, path: str, names: _Names) -> str:
        if text is None:
            return "NULL"
        tree = parse_fragment(text, path, "case result", table=self.table.name, copy=False)
        if isinstance(tree, exp.Column) and not tree.table and self.schema is not None:
            info = self.table_info(self.src)
            if info is not None and info.columns and info.column(tree.name) is None:
                self.note(path, f"'{text}' is not a column of {self.src}: read as the text {text!r}")
                return self.d.literal(text)
        return self.render_tree(tree, path, "case result", names)


def _concat_skipping_nulls(separator_sql: str, parts: list[str]) -> str:
    """Parts joined by the separator, NULL parts skipped (CONCAT_WS); NULL when every part is NULL (an
    absent attribute rather than an empty string)."""
    joined = f"CONCAT_WS({separator_sql}, {', '.join(parts)})"
    return f"CASE WHEN COALESCE({', '.join(parts)}) IS NULL THEN NULL ELSE {joined} END"


def date_format_spec(fmt: str) -> str:
    """Contract date tokens (YYYY MM DD HH mm ss) -> MySQL DATE_FORMAT specifiers; '%' is escaped."""
    out = []
    i = 0
    while i < len(fmt):
        for token, spec in _DATE_TOKENS:
            if fmt.startswith(token, i):
                out.append(spec)
                i += len(token)
                break
        else:
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return "".join(out)
