"""The exact SQL of every contract pattern the view builder handles (sqlgen/generate.py, scope.py, values.py,
joins.py), with hand-written expectations.

Fast (no database): they run first in ``scripts/mutation.sh generate``. Each case pins the generated text
of one attribute (or the whole statement), the interpretation notes and, for what cannot be generated,
the error's message, JSON path and hint. What only execution can show (rows, array order on MariaDB)
is in tests/integration/test_sqlgen_rows.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.contract.model import (
    Attribute,
    Calculation,
    Case,
    Construction,
    Contract,
    Entity,
    Join,
    JoinStep,
    Table,
    Transformation,
)
from dynamigrate.errors import ContractError, DynamigrateError, SqlGenError, UnsafeSqlError
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo
from dynamigrate.sqlgen import generate_views
from dynamigrate.sqlgen.generate import (
    _is_text_cast,
    date_format_spec,
    generate_statements,
    generate_table_view,
    view_identifier,
)
from dynamigrate.sqlgen.probes import entity_probes
from dynamigrate.sqlgen.safety import parse_fragment, parse_order_by, render_sql

T = "CHAR CHARACTER SET utf8mb4"


def txt(sql: str) -> str:
    """The wire-format cast of S/N/M/L values."""
    return f"CAST({sql} AS {T})"


def _table_json(
    attrs: list[dict[str, Any]], source: str, table: str, pk_column: str = "id", **extra: Any
) -> dict[str, Any]:
    return {
        "table": table,
        "type": "single-entity",
        "source_table": source,
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "S", "source_table": source, "source_column": pk_column},
            *attrs,
        ],
        **extra,
    }


def contract(
    attrs: list[dict[str, Any]],
    source: str = "orders",
    table: str = "T_x",
    pk_column: str = "id",
    **extra: Any,
) -> Contract:
    c, problems = parse_contract({"tables": [_table_json(attrs, source, table, pk_column, **extra)]})
    assert c is not None and not problems.errors, problems
    return c


def tbl(name: str, pk: tuple[str, ...], *cols: tuple[str, str]) -> TableInfo:
    return TableInfo(name=name, columns={c: ColumnInfo(name=c, data_type=t) for c, t in cols}, primary_key=pk)


SCHEMA = SchemaInfo(
    database="db",
    tables={
        t.name: t
        for t in [
            tbl(
                "orders",
                ("id",),
                ("id", "int"),
                ("customer_id", "int"),
                ("parent_id", "int"),
                ("total", "decimal"),
                ("weight", "float"),
                ("created_at", "datetime"),
                ("shipped", "date"),
                ("X_day", "date"),
                ("X_num", "decimal"),
                ("updated", "timestamp"),
                ("day_text", "varchar"),
                ("status", "varchar"),
                ("meta", "json"),
                ("code", "varchar"),
            ),
            tbl(
                "customers",
                ("id",),
                ("id", "int"),
                ("name", "varchar"),
                ("email", "varchar"),
                ("referrer_id", "int"),
                ("born", "date"),
                ("prefs", "json"),
                ("rating", "float"),
            ),
            tbl(
                "items",
                ("order_id", "line"),
                ("order_id", "int"),
                ("line", "int"),
                ("sku", "varchar"),
                ("qty", "int"),
                ("price", "float"),
                ("added", "datetime"),
            ),
            tbl("codes", ("code",), ("code", "varchar"), ("label", "varchar")),
        ]
    },
    version="10.11.6-MariaDB",
)


def view(
    attrs: list[dict[str, Any]], schema: SchemaInfo | None = None, dialect: str = "mysql", **kw: Any
) -> Any:
    (stmt,) = generate_views(contract(attrs, **kw), dialect=dialect, schema=schema).statements
    return stmt


def expr(stmt: Any, name: str) -> str:
    """The SELECT expression of view column ``name``."""
    suffix = f" AS `{name}`"
    for line in stmt.sql.splitlines():
        body = line.strip().rstrip(",")
        if body.endswith(suffix) and line.startswith("  "):
            return body[: -len(suffix)]
    raise AssertionError(f"no column {name} in\n{stmt.sql}")


def joins(stmt: Any) -> list[str]:
    return [line for line in stmt.sql.splitlines() if line.startswith("LEFT JOIN ")]


def one(attr: dict[str, Any], schema: SchemaInfo | None = None, dialect: str = "mysql", **kw: Any) -> str:
    """The SQL of attribute ``v`` (source table orders unless ``source=``)."""
    source = kw.get("source", "orders")
    return expr(view([{"name": "v", "source_table": source, **attr}], schema, dialect, **kw), "v")


def error(attrs: list[dict[str, Any]], schema: SchemaInfo | None = None, **kw: Any) -> DynamigrateError:
    """The error of generating this contract; it always names the DynamoDB table."""
    with pytest.raises(DynamigrateError) as err:
        generate_views(contract(attrs, **kw), schema=schema)
    assert err.value.where.get("table") == kw.get("table", "T_x"), err.value.where
    return err.value


def direct(
    entity_attrs: list[Attribute],
    source: str = "orders",
    schema: SchemaInfo | None = None,
    pk_column: str = "id",
) -> Any:
    """generate_table_view over model objects built in code (what the contract parser would refuse)."""
    pk = Attribute("PK", "S", source, pk_column, path="tables[0].attributes[0]")
    entity = Entity(source, source, (pk, *entity_attrs), path="tables[0]")
    table = Table("T_x", "single-entity", source, "PK", None, (entity,), path="tables[0]")
    return generate_table_view(table, "mysql", schema)


def direct_error(
    entity_attrs: list[Attribute], source: str = "orders", schema: SchemaInfo | None = None
) -> DynamigrateError:
    with pytest.raises(DynamigrateError) as err:
        direct(entity_attrs, source, schema)
    assert err.value.where.get("table") == "T_x", err.value.where
    return err.value


def where(e: DynamigrateError) -> tuple[str, str | None, str | None]:
    return e.message, e.where.get("path"), e.hint


# -- whole statements ------------------------------------------------------------------------------------


def test_plain_columns_statement_without_schema() -> None:
    stmt = view(
        [
            {"name": "s", "type": "S", "source_table": "orders", "source_column": "status"},
            {"name": "n", "type": "N", "source_table": "orders", "source_column": "orders.total"},
            {"name": "m", "type": "M", "source_table": "orders", "source_column": "meta"},
            {"name": "l", "type": "L", "source_table": "orders", "source_column": "tags"},
            {"name": "b", "type": "BOOL", "source_table": "orders", "source_column": "paid"},
            {"name": "bin", "type": "B", "source_table": "orders", "source_column": "blob_col"},
            {"name": "ss", "type": "SS", "source_table": "orders", "source_column": "labels"},
            {"name": "nothing", "type": "NULL", "source_table": "orders"},
        ]
    )
    assert stmt.sql == (
        "CREATE OR REPLACE VIEW ddb_t_x_view AS\n"
        "SELECT\n"
        f"  {txt('`orders`.`id`')} AS `PK`,\n"
        f"  {txt('`orders`.`status`')} AS `s`,\n"
        f"  {txt('`orders`.`total`')} AS `n`,\n"
        f"  {txt('`orders`.`meta`')} AS `m`,\n"
        f"  {txt('`orders`.`tags`')} AS `l`,\n"
        "  `orders`.`paid` AS `b`,\n"
        "  `orders`.`blob_col` AS `bin`,\n"
        "  `orders`.`labels` AS `ss`,\n"
        "  NULL AS `nothing`,\n"
        f"  {txt(chr(39) + 'orders' + chr(39))} AS `_dm_entity`,\n"
        "  `orders`.`id` AS `_dm_rowid`\n"
        "FROM `orders`"
    )
    assert stmt.interpretations == ["T_x (tables[0]): _dm_rowid assumed to be orders.id (no schema given)"]
    assert stmt.columns == ["PK", "s", "n", "m", "l", "b", "bin", "ss", "nothing", "_dm_entity", "_dm_rowid"]
    assert stmt.entities == ["orders"]
    assert stmt.source_tables == ["orders"]
    assert stmt.table == "T_x" and stmt.view_name == "ddb_t_x_view"


def test_schema_gives_key_columns_float_widening_and_checked_columns() -> None:
    stmt = view(
        [
            {"name": "w", "type": "N", "source_table": "orders", "source_column": "weight"},
            {"name": "c", "type": "S", "source_table": "orders", "source_column": "code"},
        ],
        SCHEMA,
    )
    assert stmt.sql == (
        "CREATE OR REPLACE VIEW ddb_t_x_view AS\n"
        "SELECT\n"
        f"  {txt('`orders`.`id`')} AS `PK`,\n"
        # declared 64 wide: MariaDB declares a DOUBLE's text 22 long, prints up to 24, UNION ALL cuts it
        "  CAST(CAST(`orders`.`weight` AS DOUBLE) AS CHAR(64) CHARACTER SET utf8mb4) AS `w`,\n"
        f"  {txt('`orders`.`code`')} AS `c`,\n"
        f"  {txt(chr(39) + 'orders' + chr(39))} AS `_dm_entity`,\n"
        "  `orders`.`id` AS `_dm_rowid`,\n"
        "  `orders`.`id` AS `_dm_k1`\n"
        "FROM `orders`"
    )
    assert stmt.interpretations == []
    assert stmt.columns == ["PK", "w", "c", "_dm_entity", "_dm_rowid", "_dm_k1"]


def test_composite_and_text_keys_rowid_and_key_columns() -> None:
    stmt = view(
        [{"name": "q", "type": "N", "source_table": "items", "source_column": "qty"}],
        SCHEMA,
        source="items",
        pk_column="sku",
    )
    # no single integer primary key: no _dm_rowid, but the composite key in two key columns
    assert stmt.sql.endswith(
        "  NULL AS `_dm_rowid`,\n  `items`.`order_id` AS `_dm_k1`,\n  `items`.`line` AS `_dm_k2`\nFROM `items`"
    )
    stmt = view(
        [{"name": "q", "type": "S", "source_table": "codes", "source_column": "label"}],
        SCHEMA,
        source="codes",
        pk_column="code",
    )
    assert stmt.sql.endswith("  NULL AS `_dm_rowid`,\n  `codes`.`code` AS `_dm_k1`\nFROM `codes`")
    assert stmt.interpretations == []


def test_multi_entity_union_key_columns_by_type() -> None:
    data = {
        "tables": [
            {
                "table": "Mixed",
                "type": "multi-entity",
                "pk": "PK",
                "entities": [
                    {
                        "entity_type": "ORDER",
                        "source_table": "orders",
                        "attributes": [
                            {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
                            {
                                "name": "total",
                                "type": "N",
                                "source_table": "orders",
                                "source_column": "total",
                            },
                        ],
                    },
                    {
                        "entity_type": "CODE",
                        "source_table": "codes",
                        "attributes": [
                            {"name": "PK", "type": "S", "source_table": "codes", "source_column": "code"},
                            {"name": "label", "type": "S", "source_table": "codes", "source_column": "label"},
                        ],
                    },
                    {
                        "entity_type": "ORDER2",
                        "source_table": "orders",
                        "attributes": [
                            {"name": "PK", "type": "S", "source_table": "orders", "source_column": "code"}
                        ],
                    },
                ],
            }
        ]
    }
    c, problems = parse_contract(data)
    assert c is not None and not problems.errors, problems
    (stmt,) = generate_views(c, schema=SCHEMA).statements
    selects = stmt.sql.split("\nUNION ALL\n")
    assert len(selects) == 3
    # INT and VARCHAR keys never share a view column: orders in _dm_k1, codes in _dm_k2
    assert selects[0].endswith(
        f"  {txt(chr(39) + 'ORDER' + chr(39))} AS `_dm_entity`,\n  `orders`.`id` AS `_dm_rowid`,\n"
        "  `orders`.`id` AS `_dm_k1`,\n  NULL AS `_dm_k2`\nFROM `orders`"
    )
    assert selects[1] == (
        "SELECT\n"
        f"  {txt('`codes`.`code`')} AS `PK`,\n"
        "  NULL AS `total`,\n"
        f"  {txt('`codes`.`label`')} AS `label`,\n"
        f"  {txt(chr(39) + 'CODE' + chr(39))} AS `_dm_entity`,\n"
        "  NULL AS `_dm_rowid`,\n"
        "  NULL AS `_dm_k1`,\n"
        "  `codes`.`code` AS `_dm_k2`\n"
        "FROM `codes`"
    )
    assert selects[2].endswith("  `orders`.`id` AS `_dm_k1`,\n  NULL AS `_dm_k2`\nFROM `orders`")
    assert stmt.columns == ["PK", "total", "label", "_dm_entity", "_dm_rowid", "_dm_k1", "_dm_k2"]
    assert stmt.entities == ["ORDER", "CODE", "ORDER2"]
    assert stmt.source_tables == ["orders", "codes"]


def test_odd_identifiers_and_literals_are_quoted_and_escaped() -> None:
    stmt = view(
        [
            {"name": "odd`name é", "type": "S", "source_table": "orders", "source_column": "we`ird col"},
            {
                "name": "lit",
                "type": "S",
                "source_table": "orders",
                "source_column": "id",
                "transformation": {"type": "static", "value": "it's"},
            },
            {
                "name": "bs",
                "type": "S",
                "source_table": "orders",
                "source_column": "id",
                "transformation": {"type": "static", "value": "a\\b\n"},
            },
        ],
        table="Odd-Table.v1",
    )
    assert stmt.view_name == "ddb_odd-table.v1_view"
    assert stmt.sql.startswith("CREATE OR REPLACE VIEW `ddb_odd-table.v1_view` AS\n")
    assert expr(stmt, "odd``name é") == txt("`orders`.`we``ird col`")
    assert expr(stmt, "lit") == txt("'it''s'")
    # hex text is utf8mb4 text already: not cast twice
    assert expr(stmt, "bs") == f"CAST(X'615C620A' AS {T})"


def test_view_identifier_is_bare_only_for_the_plain_default() -> None:
    def q(s: str) -> str:
        return f"<{s}>"

    assert view_identifier("ddb_orders_2_view", q) == "ddb_orders_2_view"
    assert view_identifier("ddb_Orders_view", q) == "<ddb_Orders_view>"
    assert view_identifier("ddb_orders_view_x", q) == "<ddb_orders_view_x>"
    assert view_identifier("x_ddb_orders_view", q) == "<x_ddb_orders_view>"
    assert view_identifier("ddb__view", q) == "<ddb__view>"


# -- transformations ---------------------------------------------------------------------------------------


def _tr(t: dict[str, Any], column: str = "id", type_: str = "S") -> dict[str, Any]:
    return {"type": type_, "source_column": column, "transformation": t}


def test_string_format_placeholders_escapes_and_literals() -> None:
    fmt = "{{x}}#{id}#{orders.code}#{ status }'\\%"
    assert one(_tr({"type": "string-format", "format": fmt})) == txt(
        "CONCAT('{x}#', "
        f"{txt('`orders`.`id`')}, '#', {txt('`orders`.`code`')}, '#', {txt('`orders`.`status`')}, "
        f"CAST(X'275C25' AS {T}))"
    )
    # one placeholder alone is that column as text, already the wire format (not cast twice)
    assert one(_tr({"type": "template", "format": "{code}"})) == txt("`orders`.`code`")
    assert one(_tr({"type": "string-format", "format": "ABC"})) == txt("'ABC'")
    assert one(_tr({"type": "string-format", "format": "{Code_2$ x}-"})) == txt(
        f"CONCAT({txt('`orders`.`Code_2$ x`')}, '-')"
    )
    assert one(_tr({"type": "string-format", "format": ""})) == txt("''")
    assert one(_tr({"type": "string-format", "format": "}}{id}"})) == txt(
        f"CONCAT('}}', {txt('`orders`.`id`')})"
    )
    # FLOAT placeholders are read as DOUBLE
    assert one(_tr({"type": "string-format", "format": "W{weight}"}), SCHEMA) == txt(
        "CONCAT('W', CAST(CAST(`orders`.`weight` AS DOUBLE) AS CHAR(64) CHARACTER SET utf8mb4))"
    )


@pytest.mark.parametrize(
    ("fmt", "message", "hint"),
    [
        (
            "A{id",
            "unclosed '{' in format 'A{id'",
            "close the placeholder, or write '{{' for a literal brace",
        ),
        (
            "{customers.id}",
            "placeholder '{customers.id}' names table customers; placeholders name columns of the source row (orders)",
            "join the other table in a separate attribute, or use a chain join",
        ),
        (
            "{id + 1}",
            "placeholder '{id + 1}' in format '{id + 1}' is not a column name",
            "placeholders name columns of the source row, e.g. {id}",
        ),
        (
            "{}",
            "placeholder '{}' in format '{}' is not a column name",
            "placeholders name columns of the source row, e.g. {id}",
        ),
    ],
)
def test_string_format_errors(fmt: str, message: str, hint: str) -> None:
    e = error([{"name": "v", "source_table": "orders", **_tr({"type": "string-format", "format": fmt})}])
    assert isinstance(e, ContractError)
    assert where(e) == (message, "tables[0].attributes[1].transformation.format", hint)
    assert e.where["table"] == "T_x"


def test_string_format_unknown_column_with_schema() -> None:
    e = error(
        [{"name": "v", "source_table": "orders", **_tr({"type": "string-format", "format": "{stauts}"})}],
        SCHEMA,
    )
    assert e.message == "table 'orders' has no column 'stauts'; did you mean 'status'?"
    assert e.where["path"] == "tables[0].attributes[1].transformation.format"
    assert e.hint == "columns of orders: " + ", ".join(SCHEMA.tables["orders"].columns)


@pytest.mark.parametrize(
    ("value", "type_", "sql"),
    [
        (True, "BOOL", "1"),
        (False, "BOOL", "0"),
        (True, "S", txt("'true'")),
        (False, "S", txt("'false'")),
        (7, "N", txt("'7'")),
        (2.5, "N", txt("'2.5'")),
        ({"é": [1, 2.5, True, None]}, "M", txt("'{\"é\":[1,2.5,true,null]}'")),
        (["a", "b"], "L", txt('\'["a","b"]\'')),
        ("x", "S", txt("'x'")),
    ],
)
def test_static_values(value: Any, type_: str, sql: str) -> None:
    assert one(_tr({"type": "static", "value": value}, type_=type_)) == sql


def test_static_null_is_absent() -> None:
    stmt = direct([Attribute("v", "S", "orders", "id", transformation=Transformation("static", value=None))])
    assert expr(stmt, "v") == txt("NULL")
    stmt = direct(
        [Attribute("v", "BOOL", "orders", "id", transformation=Transformation("static", value=None))]
    )
    assert expr(stmt, "v") == "NULL"


def test_json_parse_is_the_column() -> None:
    assert one(_tr({"type": "json-parse"}, column="meta", type_="M")) == txt("`orders`.`meta`")


REGEXP_NUMBER = "'^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'"


def _number(col: str, decimals: int, width: int | None) -> str:
    rounded = f"ROUND({col}, {decimals})"
    digits = f"CAST(CAST(ABS({rounded}) AS DECIMAL(65,{decimals})) AS {T})"
    if width is not None:
        digits = f"LPAD({digits}, GREATEST({width}, CHAR_LENGTH({digits})), '0')"
    return f"CONCAT(CASE WHEN {rounded} < 0 THEN '-' ELSE '' END, {digits})"


def test_number_format() -> None:
    col = "`orders`.`total`"
    # a numeric column (schema): no text guard
    assert one(_tr({"type": "number-format", "format": "0000.00"}, "total"), SCHEMA) == txt(
        _number(col, 2, 7)
    )
    assert one(_tr({"type": "number-format", "format": " 0.0 "}, "total"), SCHEMA) == txt(
        _number(col, 1, None)
    )
    assert one(_tr({"type": "number-format", "format": "00"}, "total"), SCHEMA) == txt(_number(col, 0, 2))
    assert one(_tr({"type": "number-format", "format": "0"}, "total"), SCHEMA) == txt(_number(col, 0, None))
    assert one(_tr({"type": "number-format", "format": "0"}, "orders.`total`"), SCHEMA) == txt(
        _number(col, 0, None)
    )
    # names with an X at either end read as they are (a numeric column: no text guard)
    assert one(_tr({"type": "number-format", "format": "0"}, "orders.X_num"), SCHEMA) == txt(
        _number("`orders`.`X_num`", 0, None)
    )
    # a text column, or no schema: text that is not a number gives NULL, not 0
    code = "`orders`.`code`"
    guarded = f"CASE WHEN TRIM(CAST({code} AS CHAR)) REGEXP {REGEXP_NUMBER} THEN {_number(code, 0, 3)} END"
    assert one(_tr({"type": "number-format", "format": "000"}, "code"), SCHEMA) == txt(guarded)
    assert one(_tr({"type": "number-format", "format": "000"}, "orders.code")) == txt(guarded)


@pytest.mark.parametrize("fmt", ["#,##0.00", "0.", ".00", "1", ""])
def test_number_format_errors(fmt: str) -> None:
    e = error(
        [{"name": "v", "source_table": "orders", **_tr({"type": "number-format", "format": fmt}, "total")}]
    )
    assert where(e) == (
        f"unsupported number format {fmt!r}",
        "tables[0].attributes[1].transformation.format",
        "use zeros: '000000' (integer padded to 6 digits) or '0.00' (2 decimals)",
    )


def _df(src: str, spec: str) -> str:
    """date-format's SQL: a zero or partial date ('0000-00-00', month or day 0) is NULL (value_lost)."""
    return (
        f"CASE WHEN MONTH({src}) = 0 OR DAYOFMONTH({src}) = 0 THEN NULL ELSE DATE_FORMAT({src}, {spec}) END"
    )


def test_date_format_tokens_and_percent() -> None:
    assert date_format_spec("YYYY-MM-DD HH:mm:ss") == "%Y-%m-%d %H:%i:%s"
    assert date_format_spec("100% DDD") == "100%% %dD"
    assert date_format_spec("") == ""
    assert one(_tr({"type": "date-format", "format": "DD/MM/YYYY %"}, "created_at")) == txt(
        _df("`orders`.`created_at`", "'%d/%m/%Y %%'")
    )


def test_date_format_source_format_over_text_and_date_columns() -> None:
    pattern = "5E5B302D395D7B312C327D5C2E5B302D395D7B312C327D5C2E5B302D395D7B347D5C7A"
    text = "NULLIF(TRIM(CAST(`orders`.`day_text` AS CHAR)), '')"
    stmt = view(
        [
            {
                "name": "d",
                "type": "S",
                "source_table": "orders",
                **_tr(
                    {"type": "date-format", "format": "YYYY/MM", "source_format": "DD.MM.YYYY"}, "day_text"
                ),
            },
            {
                "name": "d2",
                "type": "S",
                "source_table": "orders",
                **_tr({"type": "date-format", "format": "YYYY", "source_format": "DD.MM.YYYY"}, "created_at"),
            },
        ],
        SCHEMA,
    )
    read = (
        f"CASE WHEN {text} REGEXP CAST(X'{pattern}' AS {T}) THEN "
        f"DATE_ADD(STR_TO_DATE({text}, '%d.%m.%Y'), INTERVAL 0 SECOND) END"
    )
    assert expr(stmt, "d") == txt(_df(read, "'%Y/%m'"))
    assert expr(stmt, "d2") == txt(_df("`orders`.`created_at`", "'%Y'"))
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[2].transformation.source_format): source_format 'DD.MM.YYYY' not applied: "
        "column orders.created_at is DATETIME, a date already"
    ]
    # no schema: the text is read per source_format
    assert one(
        _tr({"type": "date-format", "format": "YYYY", "source_format": "DD.MM.YYYY"}, "day_text")
    ).startswith(f"CAST(CASE WHEN MONTH(CASE WHEN {text} REGEXP")


def test_date_format_bad_source_format() -> None:
    e = error(
        [
            {
                "name": "v",
                "source_table": "orders",
                **_tr({"type": "date-format", "format": "YYYY", "source_format": "YYYY-MM"}, "day_text"),
            }
        ]
    )
    assert where(e) == (
        "source_format 'YYYY-MM' has no DD: it never names a day, every value would be NULL",
        "tables[0].attributes[1].transformation.source_format",
        'a pattern read as a date needs YYYY, MM and DD, e.g. "YYYY-MM-DD" or "DD/MM/YYYY HH:mm"; text that holds '
        "no day cannot be read as a date",
    )


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("shipped", "DATE"),
        ("orders.created_at", "DATETIME"),
        ("orders.`updated`", "TIMESTAMP"),
        ("orders.X_day", "DATE"),
    ],
)
def test_source_format_not_applied_to_date_columns(column: str, kind: str) -> None:
    name = column.split(".")[-1].strip("`")
    stmt = view(
        [
            {
                "name": "v",
                "type": "S",
                "source_table": "orders",
                **_tr({"type": "date-format", "format": "YYYY", "source_format": "DD.MM.YYYY"}, column),
            }
        ],
        SCHEMA,
    )
    assert expr(stmt, "v") == txt(_df(f"`orders`.`{name}`", "'%Y'"))
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].transformation.source_format): source_format 'DD.MM.YYYY' not applied: "
        f"column orders.{name} is {kind}, a date already"
    ]


def test_unsupported_transformation_and_calculation_and_join_types() -> None:
    e = direct_error([Attribute("v", "S", "orders", "id", transformation=Transformation("upper", path="P"))])
    assert isinstance(e, SqlGenError)
    assert where(e) == ("unsupported transformation 'upper'", "P", None)
    assert e.where["table"] == "T_x"
    e = direct_error([Attribute("v", "S", "orders", "id", calculation=Calculation("median", path="C"))])
    assert where(e) == ("unsupported calculation 'median'", "C", None)
    e = direct_error([Attribute("v", "S", "orders", "id", join=Join("cross", path="J"))])
    assert where(e) == ("unsupported join type 'cross'", "J", None)


# -- source columns ----------------------------------------------------------------------------------------


def test_source_column_errors() -> None:
    e = error([{"name": "v", "type": "S", "source_table": "orders", "source_column": "customers.name"}])
    assert where(e) == (
        "source_column 'customers.name' is not a column of the source table orders",
        "tables[0].attributes[1].source_column",
        "use a foreign-key join to reach customers",
    )
    e = error([{"name": "v", "type": "S", "source_table": "orders", "source_column": ["a", "b"]}])
    assert where(e) == (
        "attribute 'v' lists several source columns but says nothing about combining them",
        "tables[0].attributes[1].source_column",
        'use a string-format transformation, e.g. "format": "{a}#{b}"',
    )
    e = direct_error([Attribute("v", "S", "orders", None, path="A")])
    assert where(e) == (
        "attribute 'v' has no source_column",
        "A.source_column",
        "name the column the value comes from",
    )
    e = error([{"name": "v", "type": "S", "source_table": "customers", "source_column": "email"}])
    assert where(e) == (
        "attribute 'v' takes its value from customers, but the entity reads orders and the attribute has no join",
        "tables[0].attributes[1].source_table",
        "add a foreign-key join to customers, or set source_table to orders",
    )
    # the same table in another case is the source table
    assert one({"type": "S", "source_column": "Orders.code"}, source="orders") == txt("`orders`.`code`")


def test_unknown_column_with_schema_suggests() -> None:
    e = error([{"name": "v", "type": "S", "source_table": "orders", "source_column": "stauts"}], SCHEMA)
    assert e.message == "table 'orders' has no column 'stauts'; did you mean 'status'?"
    e = error([{"name": "v", "type": "S", "source_table": "orders", "source_column": "zzz"}], SCHEMA)
    assert e.message == "table 'orders' has no column 'zzz'"
    assert e.where == {"path": "tables[0].attributes[1].source_column", "table": "T_x"}


def test_names_checks() -> None:
    long = "a" * 65
    e = error([{"name": "_DM_x", "type": "S", "source_table": "orders", "source_column": "a"}])
    assert where(e) == (
        "attribute name '_DM_x' starts with the reserved prefix _dm_",
        "tables[0].attributes[1].name",
        "rename the attribute",
    )
    e = error([{"name": "v ", "type": "S", "source_table": "orders", "source_column": "a"}])
    assert isinstance(e, SqlGenError)
    assert where(e) == (
        "attribute name 'v ' ends with a space, which a view column cannot",
        "tables[0].attributes[1].name",
        "remove the trailing space from the attribute name",
    )
    e = error([{"name": "a😀", "type": "S", "source_table": "orders", "source_column": "a"}])
    assert isinstance(e, SqlGenError)
    assert where(e) == (
        "attribute name 'a😀' has a character outside the Basic Multilingual Plane (an emoji, say), which a "
        "MySQL/MariaDB view column cannot hold",
        "tables[0].attributes[1].name",
        "rename the attribute (identifiers allow U+0001 to U+FFFF: https://dev.mysql.com/doc/refman/8.0/en/identifiers.html)",
    )
    assert expr(
        view([{"name": "a\uffff", "type": "S", "source_table": "orders", "source_column": "a"}]), "a\uffff"
    )
    e = error([{"name": long, "type": "S", "source_table": "orders", "source_column": "a"}])
    assert where(e) == (
        f"attribute name '{long}' is longer than 64 characters (a view column limit)",
        "tables[0].attributes[1].name",
        "shorten the attribute name",
    )
    assert expr(
        view([{"name": "a" * 64, "type": "S", "source_table": "orders", "source_column": "a"}]), "a" * 64
    )
    e = error([{"name": "pK", "type": "S", "source_table": "orders", "source_column": "a"}])
    assert where(e) == (
        "attributes 'PK' and 'pK' differ only in case; view columns are case-insensitive",
        "tables[0].attributes[1].name",
        "rename one of them",
    )
    name = "T" + "x" * 56  # ddb_ + 57 + _view = 66 characters
    e = error([], table=name)
    assert where(e) == (
        f"view name ddb_{name.lower()}_view is longer than 64 characters",
        "tables[0].table",
        "shorten the DynamoDB table name",
    )
    name = "T" + "x" * 54  # exactly 64
    assert generate_views(contract([], table=name)).statements[0].view_name == f"ddb_{name.lower()}_view"
    e = error([], source="s" * 65)
    assert e.message == f"source table name '{'s' * 65}' is longer than 64 characters"
    assert e.hint == "MySQL identifiers have at most 64 characters: check the entity's source_table"
    assert generate_views(contract([], source="s" * 64)).statements[0].sql.endswith(f"FROM `{'s' * 64}`")


# -- to-one joins ------------------------------------------------------------------------------------------


def _fk(
    cond: str, select: str = "customers.name", target: str = "customers", kind: str = "foreign-key", **kw: Any
) -> dict[str, Any]:
    return {
        "type": "S",
        "source_column": "customer_id",
        "join": {"type": kind, "target_table": target, "join_condition": cond, "select_column": select, **kw},
    }


def test_foreign_key_join_and_repeats() -> None:
    stmt = view(
        [
            {"name": "a", "source_table": "orders", **_fk("customers.id = orders.customer_id")},
            {
                "name": "b",
                "source_table": "orders",
                **_fk("customers.id = orders.customer_id", "customers.email"),
            },
            {
                "name": "c",
                "source_table": "orders",
                **_fk("orders.customer_id = customers.id", "UPPER(customers.email)"),
            },
            {
                "name": "d",
                "source_table": "orders",
                **_fk("customers.id = orders.parent_id", "COALESCE(customers.email, 'none')"),
            },
            {
                "name": "e",
                "source_table": "orders",
                **_fk("codes.code = orders.code", "label", "codes", "lookup-table"),
            },
        ]
    )
    assert expr(stmt, "a") == txt("`customers`.`name`")
    assert expr(stmt, "b") == txt("`customers`.`email`")
    # not a bare column: no matching row leaves it absent (the guard tests the joined key)
    assert expr(stmt, "c") == txt(
        "CASE WHEN `customers_2`.`id` IS NULL THEN NULL ELSE UPPER(`customers_2`.`email`) END"
    )
    assert expr(stmt, "d") == txt(
        "CASE WHEN `customers_3`.`id` IS NULL THEN NULL ELSE COALESCE(`customers_3`.`email`, 'none') END"
    )
    assert expr(stmt, "e") == txt("`codes`.`label`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`",
        "LEFT JOIN `customers` AS `customers_2` ON `orders`.`customer_id` = `customers_2`.`id`",
        "LEFT JOIN `customers` AS `customers_3` ON `customers_3`.`id` = `orders`.`parent_id`",
        "LEFT JOIN `codes` AS `codes` ON `codes`.`code` = `orders`.`code`",
    ]


def test_join_without_equality_has_no_guard() -> None:
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **_fk("customers.id > orders.customer_id", "UPPER(customers.name)"),
            }
        ]
    )
    assert expr(stmt, "a") == txt("UPPER(`customers`.`name`)")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` > `orders`.`customer_id`"
    ]


def test_multi_column_join() -> None:
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "orders",
                "source_column": "code",
                "join": {
                    "type": "multi-column",
                    "target_table": "codes",
                    "join_conditions": ["codes.code = orders.code", "codes.kind = orders.status"],
                    "select_column": "CONCAT(codes.label, '!')",
                },
            }
        ]
    )
    assert expr(stmt, "a") == txt(
        "CASE WHEN `codes`.`code` IS NULL THEN NULL ELSE CONCAT(`codes`.`label`, '!') END"
    )
    assert joins(stmt) == [
        "LEFT JOIN `codes` AS `codes` ON (`codes`.`code` = `orders`.`code`) AND (`codes`.`kind` = `orders`.`status`)"
    ]


def test_join_with_and_condition_guards_on_first_equality() -> None:
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **_fk("orders.status = 'x' AND customers.id = orders.customer_id", "LOWER(customers.name)"),
            }
        ]
    )
    assert expr(stmt, "a") == txt(
        "CASE WHEN `customers`.`id` IS NULL THEN NULL ELSE LOWER(`customers`.`name`) END"
    )


def test_self_join_with_alias_null_value_and_notes() -> None:
    def sj(alias: str, cond: str, select: str, null: Any = None) -> dict[str, Any]:
        j = {"type": "self-join", "join_alias": alias, "join_condition": cond, "select_column": select}
        if null is not None:
            j["null_value"] = null
        return {"type": "S", "source_column": "parent_id", "join": j}

    stmt = view(
        [
            {"name": "a", "source_table": "orders", **sj("p", "p.id = orders.parent_id", "p.code", "none")},
            {"name": "b", "source_table": "orders", **sj("q", "q.id > orders.parent_id", "q.code", 0)},
            {"name": "c", "source_table": "orders", **sj("up", "up.id = orders.parent_id", "up.status")},
            {"name": "d", "source_table": "orders", **sj("p2", "orders.parent_id = p2.id", "p2.code")},
            {"name": "e", "source_table": "orders", **sj("p", "p.id = orders.parent_id", "p.status")},
        ]
    )
    assert expr(stmt, "e") == txt("`p`.`status`")
    assert expr(stmt, "a") == txt("CASE WHEN `p`.`id` IS NULL THEN 'none' ELSE `p`.`code` END")
    assert expr(stmt, "b") == txt("COALESCE(`q`.`code`, '0')")
    assert expr(stmt, "c") == txt("`p`.`status`")
    assert expr(stmt, "d") == txt("`p2`.`code`")
    assert joins(stmt) == [
        "LEFT JOIN `orders` AS `p` ON `p`.`id` = `orders`.`parent_id`",
        "LEFT JOIN `orders` AS `q` ON `q`.`id` > `orders`.`parent_id`",
        "LEFT JOIN `orders` AS `p2` ON `orders`.`parent_id` = `p2`.`id`",
    ]
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[2].join): null_value applied with COALESCE (no equality in join_condition to "
        "test for a match)",
        "T_x (tables[0].attributes[3].join): join_alias 'up' joins orders under the same condition as p: joined "
        "once, up refers to p",
        "T_x (tables[0]): _dm_rowid assumed to be orders.id (no schema given)",
    ]


def test_self_join_needs_an_alias() -> None:
    e = direct_error(
        [
            Attribute(
                "v",
                "S",
                "orders",
                "parent_id",
                join=Join(
                    "self-join", join_condition="a.id = orders.parent_id", select_column="a.x", path="J"
                ),
            )
        ]
    )
    assert where(e) == (
        "a self-join needs 'join_alias'",
        "J.join_alias",
        'name the second copy of the table, e.g. "join_alias": "parent"',
    )


def test_self_reference_by_primary_key_rule() -> None:
    stmt = view(
        [{"name": "ref", "source_table": "customers", **_fk("customers.id = customers.referrer_id", "name")}],
        SCHEMA,
        source="customers",
    )
    assert expr(stmt, "ref") == txt("`customers_2`.`name`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers_2` ON `customers_2`.`id` = `customers`.`referrer_id`"
    ]
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join): join to customers from customers read as: customers AS customers_2 ON "
        "customers_2.id = customers.referrer_id (the joined row is the one whose primary key is compared)",
        "T_x (tables[0].attributes[1].join.select_column): 'name' read as a column of the joined row customers_2 "
        "(not of the current row)",
    ]
    # reversed sides: the same reading
    stmt = view(
        [
            {
                "name": "ref",
                "source_table": "customers",
                **_fk("customers.referrer_id = customers.id", "customers.email"),
            }
        ],
        SCHEMA,
        source="customers",
    )
    assert expr(stmt, "ref") == txt("`customers_2`.`email`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers_2` ON `customers`.`referrer_id` = `customers_2`.`id`"
    ]


def test_self_reference_to_the_row_itself() -> None:
    stmt = view(
        [{"name": "me", "source_table": "customers", **_fk("customers.id = customers.id", "email")}],
        SCHEMA,
        source="customers",
    )
    assert expr(stmt, "me") == txt("`customers`.`email`")
    assert joins(stmt) == []
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join.join_condition): join_condition 'customers.id = customers.id' compares "
        "customers with itself on its primary key: the row itself (no join)"
    ]


def test_self_reference_without_certain_reading() -> None:
    attrs = [
        Attribute(
            "v",
            "S",
            "customers",
            "id",
            join=Join(
                "foreign-key", "customers", "customers.email = customers.name", select_column="name", path="J"
            ),
        )
    ]
    e = direct_error(attrs, "customers")
    assert e.message == (
        "the condition 'customers.email = customers.name' compares customers with itself and no reading is certain "
        "(primary key customers.id)"
    )
    assert e.where["path"] == "J.join_condition"
    assert e.hint == (
        'declare an alias for the joined row, e.g. {"type": "self-join", "join_alias": "parent", '
        '"join_condition": "parent.id = customers.email", "select_column": "parent.<column>"}'
    )
    attrs = [
        Attribute(
            "v",
            "S",
            "customers",
            "id",
            join=Join(
                "foreign-key",
                "customers",
                "customers.referrer_id > customers.id",
                select_column="name",
                path="J",
            ),
        )
    ]
    e = direct_error(attrs, "customers")
    assert e.message.startswith(
        "the condition 'customers.referrer_id > customers.id' compares customers with itself"
    )
    attrs = [
        Attribute(
            "v",
            "S",
            "customers",
            "id",
            join=Join(
                "foreign-key",
                "customers",
                "customers.referrer_id = customers.referrer_id",
                select_column="name",
                path="J",
            ),
        )
    ]
    e = direct_error(attrs, "customers")
    assert e.hint is not None and '"join_condition": "parent.id = customers.referrer_id"' in e.hint
    # the to-many snippet names the child alias
    attrs = [
        Attribute(
            "v",
            "N",
            "customers",
            "id",
            calculation=Calculation(
                "aggregate", "customers", "customers.name = customers.email", "COUNT", "*", path="C"
            ),
        )
    ]
    e = direct_error(attrs, "customers")
    assert e.where["path"] == "C.join_condition"
    assert e.hint == (
        'declare an alias for the joined row, e.g. "join_condition": "child.name = customers.id"  '
        "(and refer to the related rows as child.*)"
    )


def test_self_reference_composite_primary_key() -> None:
    attrs = [
        Attribute(
            "v",
            "S",
            "items",
            "id",
            join=Join("foreign-key", "items", "items.line = items.qty", select_column="sku", path="J"),
        )
    ]
    with pytest.raises(ContractError) as err:
        direct(attrs, "items", SCHEMA, "sku")
    assert where(err.value) == (
        "table 'items' has a composite primary key (order_id, line); a self-referencing condition cannot be read by "
        "the primary key rule",
        "J.join_condition",
        "declare an alias: use a self-join with join_alias and qualify both sides",
    )
    assert err.value.where["table"] == "T_x"


def test_conditional_join_forms() -> None:
    def cond(
        else_value: Any,
        select: str = "customers.name",
        condition: str = "orders.status = 'vip'",
        on: str = "customers.id = orders.customer_id",
    ) -> dict[str, Any]:
        return {
            "type": "S",
            "source_column": "customer_id",
            "join": {
                "type": "conditional",
                "target_table": "customers",
                "join_condition": on,
                "select_column": select,
                "condition": condition,
                "else_value": else_value,
            },
        }

    stmt = view(
        [
            {"name": "a", "source_table": "orders", **cond("customers.email")},
            {"name": "b", "source_table": "orders", **cond("'text'")},
            {"name": "c", "source_table": "orders", **cond("plain")},
            {"name": "e", "source_table": "orders", **cond(3)},
            {
                "name": "f",
                "source_table": "orders",
                **cond("x.name", "x.email", "status = 'a'", "customers.id = orders.parent_id"),
            },
        ]
    )
    head = "CASE WHEN `orders`.`status` = 'vip' THEN `customers`.`name` ELSE "
    assert expr(stmt, "a") == txt(head + "`customers`.`email` END")
    assert expr(stmt, "b") == txt(head + "'text' END")
    assert expr(stmt, "c") == txt(head + "'plain' END")
    assert expr(stmt, "e") == txt(head + "'3' END")
    # an undeclared qualifier is this join's own row, allocated under that name
    assert expr(stmt, "f") == txt("CASE WHEN `orders`.`status` = 'a' THEN `x`.`email` ELSE `x`.`name` END")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`",
        "LEFT JOIN `customers` AS `x` ON `x`.`id` = `orders`.`parent_id`",
    ]
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[2].join.else_value): else_value \"'text'\" is written as an SQL string: read as "
        "the text 'text'",
        "T_x (tables[0].attributes[5].join.select_column): 'x.email' uses the undeclared alias 'x': read as this "
        "join's own joined row (customers AS x)",
        "T_x (tables[0].attributes[5].join.else_value): 'x.name' uses the undeclared alias 'x': read as this "
        "join's own joined row (customers AS x)",
        "T_x (tables[0]): _dm_rowid assumed to be orders.id (no schema given)",
    ]


def test_chain_join() -> None:
    steps = [
        {
            "target_table": "customers",
            "join_condition": "customers.id = orders.customer_id",
            "select_column": "customers.name",
        },
        {
            "target_table": "regions",
            "join_condition": "regions.id = customers.region_id",
            "select_column": "name",
        },
    ]
    base = {"type": "S", "source_column": "customer_id"}
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **base,
                "join": {"type": "chain", "joins": steps, "chain_separator": "/"},
            },
            {"name": "b", "source_table": "orders", **base, "join": {"type": "chain", "joins": steps}},
            {
                "name": "c",
                "source_table": "orders",
                **base,
                "join": {"type": "chain", "joins": steps, "chain_separator": ""},
            },
        ]
    )
    assert expr(stmt, "a") == txt(
        "CASE WHEN COALESCE(`customers`.`name`, `regions`.`name`) IS NULL THEN NULL ELSE "
        "CONCAT_WS('/', `customers`.`name`, `regions`.`name`) END"
    )
    assert expr(stmt, "b") == txt("`regions`.`name`")
    assert expr(stmt, "c") == txt(
        "CASE WHEN COALESCE(`customers`.`name`, `regions`.`name`) IS NULL THEN NULL ELSE "
        "CONCAT_WS('', `customers`.`name`, `regions`.`name`) END"
    )
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`",
        "LEFT JOIN `regions` AS `regions` ON `regions`.`id` = `customers`.`region_id`",
    ]


def test_chain_through_the_row_itself() -> None:
    steps = [
        {"target_table": "orders", "join_condition": "orders.id = orders.id", "select_column": "orders.code"},
        {"target_table": "codes", "join_condition": "codes.code = orders.code", "select_column": "label"},
    ]
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                "type": "S",
                "source_column": "code",
                "join": {"type": "chain", "joins": steps},
            }
        ],
        SCHEMA,
    )
    assert expr(stmt, "a") == txt("`codes`.`label`")
    assert joins(stmt) == ["LEFT JOIN `codes` AS `codes` ON `codes`.`code` = `orders`.`code`"]


def test_unqualified_columns_resolved_by_schema() -> None:
    stmt = view(
        [{"name": "a", "source_table": "orders", **_fk("customers.id = customer_id", "email")}], SCHEMA
    )
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`"
    ]
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join.join_condition): unqualified column 'customer_id' in the join condition "
        "read as orders.customer_id"
    ]
    e = error([{"name": "a", "source_table": "orders", **_fk("customers.id = nowhere", "email")}], SCHEMA)
    assert where(e) == (
        "unqualified column 'nowhere' in the join condition: cannot tell which table it belongs to",
        "tables[0].attributes[1].join.join_condition",
        "qualify it as table.nowhere",
    )
    e = error([{"name": "a", "source_table": "orders", **_fk("customers.id = id", "email")}], SCHEMA)
    assert where(e) == (
        "unqualified column 'id' in the join condition exists in customers and orders",
        "tables[0].attributes[1].join.join_condition",
        "qualify it, e.g. customers.id",
    )
    # no schema: an unqualified join column cannot be placed
    e = error([{"name": "a", "source_table": "orders", **_fk("customers.id = customer_id", "email")}])
    assert (
        e.message
        == "unqualified column 'customer_id' in the join condition: cannot tell which table it belongs to"
    )


def test_unknown_qualifier_and_database_names() -> None:
    e = error([{"name": "a", "source_table": "orders", **_fk("custmers.id = orders.customer_id")}])
    assert where(e) == (
        "'custmers.id' in the join condition refers to 'custmers', which is not in scope here; did you mean 'customers'?",
        "tables[0].attributes[1].join.join_condition",
        "tables/aliases usable here: customers, orders",
    )
    e = error(
        [{"name": "a", "source_table": "orders", **_fk("customers.id = orders.customer_id", "zz.name")}]
    )
    assert e.message == "'zz.name' in the select_column refers to 'zz', which is not in scope here"
    e = error(
        [
            {
                "name": "a",
                "source_table": "orders",
                **_fk("customers.id = orders.customer_id", "db.customers.name"),
            }
        ]
    )
    assert where(e) == (
        "the select_column names a database ('db.customers.name'); only table.column references are allowed",
        "tables[0].attributes[1].join.select_column",
        "refer to columns as table.column",
    )


# -- to-many: aggregates and JSON constructions ------------------------------------------------------------


def _agg(
    op: str, select: str, target: str = "items", cond: str = "items.order_id = orders.id"
) -> dict[str, Any]:
    return {
        "type": "N",
        "source_column": "id",
        "calculation": {
            "type": "aggregate",
            "target_table": target,
            "join_condition": cond,
            "operation": op,
            "select_column": select,
        },
    }


def test_aggregates() -> None:
    tail = "FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id`)"
    for op in ("SUM", "AVG", "MIN", "MAX"):
        assert one(_agg(op.lower(), "qty")) == txt(f"(SELECT {op}(`items`.`qty`) {tail}")
    assert one(_agg("Count", "*")) == txt(f"(SELECT COUNT(*) {tail}")
    assert one(_agg("COUNT", "distinct  items.sku")) == txt(f"(SELECT COUNT(DISTINCT `items`.`sku`) {tail}")
    assert one(_agg("SUM", "items.qty * orders.total")) == txt(
        f"(SELECT SUM(`items`.`qty` * `orders`.`total`) {tail}"
    )
    # FLOAT widened inside the aggregate
    assert one(_agg("SUM", "price"), SCHEMA) == (
        f"CAST((SELECT SUM(CAST(`items`.`price` AS DOUBLE)) {tail} AS CHAR(64) CHARACTER SET utf8mb4)"
    )


def test_aggregate_errors() -> None:
    e = error([{"name": "v", "source_table": "orders", **_agg("SUM", "*")}])
    assert where(e) == (
        "SUM(*) is not valid SQL",
        "tables[0].attributes[1].calculation.select_column",
        "name a column",
    )
    e = direct_error(
        [
            Attribute(
                "v",
                "N",
                "orders",
                "id",
                calculation=Calculation(
                    "aggregate", "items", "items.order_id = orders.id", "median", "qty", path="C"
                ),
            )
        ]
    )
    assert where(e) == (
        "unknown aggregate operation 'median'",
        "C.operation",
        "use one of SUM, COUNT, AVG, MIN, MAX",
    )
    e = direct_error(
        [
            Attribute(
                "v",
                "N",
                "orders",
                "id",
                calculation=Calculation(
                    "aggregate", "items", "items.order_id = orders.id", None, "qty", path="C"
                ),
            )
        ]
    )
    assert e.message == "unknown aggregate operation None"


def test_aggregate_over_the_source_table_itself() -> None:
    stmt = view(
        [
            {
                "name": "kids",
                "source_table": "customers",
                **_agg("count", "DISTINCT id", "customers", "customers.referrer_id = customers.id"),
            },
            {
                "name": "all",
                "source_table": "customers",
                **_agg("COUNT", "*", "customers", "customers.referrer_id = customers.id"),
            },
        ],
        SCHEMA,
        source="customers",
    )
    assert expr(stmt, "kids") == txt(
        "(SELECT COUNT(DISTINCT `customers_2`.`id`) FROM `customers` AS `customers_2` "
        "WHERE `customers_2`.`referrer_id` = `customers`.`id`)"
    )
    assert expr(stmt, "all") == txt(
        "(SELECT COUNT(*) FROM `customers` AS `customers_3` WHERE `customers_3`.`referrer_id` = `customers`.`id`)"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].calculation.join_condition): join_condition 'customers.referrer_id = "
        "customers.id' compares customers with itself: read as customers_2.referrer_id = customers.id (customers_2 = "
        "the related rows, whose foreign key points at the current row)",
        "T_x (tables[0].attributes[2].calculation.join_condition): join_condition 'customers.referrer_id = "
        "customers.id' compares customers with itself: read as customers_3.referrer_id = customers.id (customers_3 = "
        "the related rows, whose foreign key points at the current row)",
    ]
    # the related rows' foreign key named first or second: the same reading
    assert one(
        _agg("MAX", "id", "customers", "customers.id = customers.referrer_id"), SCHEMA, source="customers"
    ) == txt(
        "(SELECT MAX(`customers_2`.`id`) FROM `customers` AS `customers_2` WHERE `customers`.`id` = `customers_2`.`referrer_id`)"
    )


def _jc(
    construction: dict[str, Any],
    target: str = "items",
    cond: str = "items.order_id = orders.id",
    type_: str = "L",
) -> dict[str, Any]:
    return {
        "type": type_,
        "source_column": "id",
        "join": {
            "type": "json-construction",
            "target_table": target,
            "join_condition": cond,
            "construction": construction,
        },
    }


def test_json_array_mysql_and_mariadb_shapes() -> None:
    where_sql = "WHERE `items`.`order_id` = `orders`.`id`"
    ordered = _jc(
        {
            "type": "array",
            "select_columns": {"s": "sku", "q": "items.qty"},
            "order_by": "qty DESC, sku",
            "limit": 3,
        }
    )
    elem = "JSON_OBJECT('s', `items`.`sku`, 'q', `items`.`qty`)"
    assert one(ordered) == txt(
        f"(SELECT COALESCE(JSON_ARRAYAGG(`_dm_arr`.`_dm_elem`), JSON_ARRAY()) FROM (SELECT {elem} AS `_dm_elem` "
        f"FROM `items` AS `items` {where_sql} ORDER BY `items`.`qty` DESC, `items`.`sku` LIMIT 3) AS `_dm_arr`)"
    )
    assert one(ordered, dialect="mariadb") == txt(
        f"(SELECT COALESCE(JSON_ARRAYAGG({elem} ORDER BY `items`.`qty` DESC, `items`.`sku` LIMIT 3), JSON_ARRAY()) "
        f"FROM `items` AS `items` {where_sql})"
    )
    limited = _jc({"type": "array", "select_columns": {"s": "sku"}, "limit": 1})
    assert one(limited) == txt(
        "(SELECT COALESCE(JSON_ARRAYAGG(`_dm_arr`.`_dm_elem`), JSON_ARRAY()) FROM (SELECT JSON_OBJECT('s', "
        f"`items`.`sku`) AS `_dm_elem` FROM `items` AS `items` {where_sql} LIMIT 1) AS `_dm_arr`)"
    )
    assert one(limited, dialect="mariadb") == txt(
        f"(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('s', `items`.`sku`) LIMIT 1), JSON_ARRAY()) FROM `items` AS `items` {where_sql})"
    )
    plain = _jc({"type": "array", "select_columns": {"s": "sku"}})
    for dialect in ("mysql", "mariadb"):
        assert one(plain, dialect=dialect) == txt(
            f"(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('s', `items`.`sku`)), JSON_ARRAY()) FROM `items` AS `items` {where_sql})"
        )


def test_json_array_default_order_is_the_primary_key_with_schema() -> None:
    stmt = view(
        [{"name": "v", "source_table": "orders", **_jc({"type": "array", "select_columns": {"s": "sku"}})}],
        SCHEMA,
        "mariadb",
    )
    assert expr(stmt, "v") == txt(
        "(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('s', `items`.`sku`) ORDER BY `items`.`order_id`, `items`.`line`), "
        "JSON_ARRAY()) FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id`)"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join.construction): no order_by: elements ordered by the primary key of items "
        "(order_id, line) so that the value is the same on every read"
    ]


def test_json_members_by_column_type() -> None:
    """Temporal members as text, JSON columns as JSON, FLOAT as DOUBLE; also for the current row's columns."""
    members = {
        "s": "sku",
        "p": "price",
        "at": "items.added",
        "m": "orders.meta",
        "c": "orders.created_at",
        "e": "qty + 1",
    }
    for dialect, json_doc in (
        ("mysql", "CAST(`orders`.`meta` AS JSON)"),
        ("mariadb", "JSON_EXTRACT(`orders`.`meta`, '$')"),
    ):
        sql = one(_jc({"type": "array", "select_columns": members, "order_by": "line"}), SCHEMA, dialect)
        assert (
            "JSON_OBJECT('s', `items`.`sku`, 'p', CAST(`items`.`price` AS DOUBLE), "
            f"'at', CAST(`items`.`added` AS {T}), 'm', {json_doc}, 'c', CAST(`orders`.`created_at` AS {T}), "
            "'e', `items`.`qty` + 1)"
        ) in sql


def test_json_object_forms() -> None:
    first = _jc({"type": "object", "select_columns": {"s": "sku"}}, type_="M")
    assert one(first) == txt(
        "(SELECT JSON_OBJECT('s', `items`.`sku`) FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id` LIMIT 1)"
    )
    assert one(first, SCHEMA) == txt(
        "(SELECT JSON_OBJECT('s', `items`.`sku`) FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id` "
        "ORDER BY `items`.`order_id`, `items`.`line` LIMIT 1)"
    )
    ordered = _jc({"type": "object", "select_columns": {"s": "sku"}, "order_by": "qty DESC"}, type_="M")
    assert one(ordered, dialect="mariadb") == txt(
        "(SELECT JSON_OBJECT('s', `items`.`sku`) FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id` "
        "ORDER BY `items`.`qty` DESC LIMIT 1)"
    )


def test_json_object_of_the_row_itself() -> None:
    stmt = view(
        [
            {
                "name": "me",
                "source_table": "customers",
                **_jc(
                    {
                        "type": "object",
                        "select_columns": {"n": "name", "b": "born", "p": "customers.prefs", "r": "rating"},
                    },
                    "customers",
                    "customers.id = customers.id",
                    "M",
                ),
            },
            {
                "name": "us",
                "source_table": "customers",
                **_jc(
                    {"type": "array", "select_columns": {"n": "name"}},
                    "customers",
                    "customers.id = customers.id",
                ),
            },
        ],
        SCHEMA,
        "mariadb",
        source="customers",
    )
    assert expr(stmt, "me") == txt(
        f"JSON_OBJECT('n', `customers`.`name`, 'b', CAST(`customers`.`born` AS {T}), "
        "'p', JSON_EXTRACT(`customers`.`prefs`, '$'), 'r', CAST(`customers`.`rating` AS DOUBLE))"
    )
    # an array over the row itself is a one-element array read from a second copy (no default order)
    assert expr(stmt, "us") == txt(
        "(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('n', `customers_3`.`name`)), JSON_ARRAY()) FROM `customers` AS "
        "`customers_3` WHERE `customers_3`.`id` = `customers`.`id`)"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join.join_condition): 'customers.id = customers.id' matches the row itself: "
        "the object is built from the current row"
    ]


def test_json_construction_over_the_source_table_children() -> None:
    sql = one(
        _jc(
            {"type": "array", "select_columns": {"n": "name"}, "order_by": "customers.name"},
            "customers",
            "customers.referrer_id = customers.id",
        ),
        SCHEMA,
        "mariadb",
        source="customers",
    )
    assert sql == txt(
        "(SELECT COALESCE(JSON_ARRAYAGG(JSON_OBJECT('n', `customers_2`.`name`) ORDER BY `customers_2`.`name`, "
        "`customers_2`.`id`), "  # ties in order_by: by primary key, as the evaluator orders them
        "JSON_ARRAY()) FROM `customers` AS `customers_2` WHERE `customers_2`.`referrer_id` = `customers`.`id`)"
    )


# -- calculations ----------------------------------------------------------------------------------------


def test_case_calculation() -> None:
    calc = {
        "type": "case",
        "cases": [
            {"when": "rating > 4", "then": "'top'"},
            {"when": "rating > 2", "then": "email"},
            {"when": "rating > 1", "then": "meh"},
            {"when": "rating > 0", "then": "customers.name"},
        ],
        "else": "low",
    }
    stmt = view(
        [{"name": "c", "type": "S", "source_table": "customers", "source_column": "id", "calculation": calc}],
        SCHEMA,
        source="customers",
    )
    r = "CAST(`customers`.`rating` AS DOUBLE)"
    assert expr(stmt, "c") == txt(
        f"CASE WHEN {r} > 4 THEN 'top' WHEN {r} > 2 THEN `customers`.`email` WHEN {r} > 1 THEN 'meh' "
        f"WHEN {r} > 0 THEN `customers`.`name` ELSE 'low' END"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].calculation.cases[2].then): 'meh' is not a column of customers: read as the text 'meh'",
        "T_x (tables[0].attributes[1].calculation.else): 'low' is not a column of customers: read as the text 'low'",
    ]
    # without a schema every bare word is a column; no else is NULL
    calc = {"type": "case", "cases": [{"when": "a = 1", "then": "b"}]}
    assert one({"type": "S", "source_column": "id", "calculation": calc}) == txt(
        "CASE WHEN `orders`.`a` = 1 THEN `orders`.`b` ELSE NULL END"
    )
    calc = {"type": "case", "cases": [{"when": "a = 1", "then": "b"}], "else": "c"}
    assert one({"type": "S", "source_column": "id", "calculation": calc}) == txt(
        "CASE WHEN `orders`.`a` = 1 THEN `orders`.`b` ELSE `orders`.`c` END"
    )


def test_concat_and_date_math() -> None:
    calc = {"type": "concat", "parts": ["code", "orders.status", "'!'"], "separator": "'"}
    assert one({"type": "S", "source_column": "id", "calculation": calc}) == txt(
        "CASE WHEN COALESCE(`orders`.`code`, `orders`.`status`, '!') IS NULL THEN NULL ELSE "
        "CONCAT_WS('''', `orders`.`code`, `orders`.`status`, '!') END"
    )
    calc = {
        "type": "date-math",
        "expression": "created_at",
        "interval": " -2 months ",
        "format": "YYYY-MM-DD",
    }
    assert one({"type": "S", "source_column": "id", "calculation": calc}) == txt(
        "DATE_FORMAT(DATE_ADD(`orders`.`created_at`, INTERVAL -2 MONTH), '%Y-%m-%d')"
    )
    calc = {"type": "date-math", "expression": "created_at", "interval": "+3 day"}
    assert one({"type": "S", "source_column": "id", "calculation": calc}) == txt(
        "DATE_ADD(`orders`.`created_at`, INTERVAL 3 DAY)"
    )


@pytest.mark.parametrize("interval", ["soon", "1 FORTNIGHT", "1.5 DAY", "DAY 1", ""])
def test_date_math_bad_interval(interval: str) -> None:
    calc = {"type": "date-math", "expression": "created_at", "interval": interval}
    e = error(
        [{"name": "v", "type": "S", "source_table": "orders", "source_column": "id", "calculation": calc}]
    )
    assert where(e) == (
        f"unsupported interval {interval!r}",
        "tables[0].attributes[1].calculation.interval",
        "write '<integer> <unit>', e.g. '30 DAY' or '-1 MONTH'",
    )


# -- filters -----------------------------------------------------------------------------------------------


def test_filter_is_the_where_of_the_entity() -> None:
    stmt = view(
        [{"name": "a", "source_table": "orders", **_fk("customers.id = orders.customer_id")}],
        filter="status <> 'x' AND orders.total > 0",
    )
    assert stmt.sql.endswith(
        "FROM `orders`\nLEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`\n"
        "WHERE `orders`.`status` <> 'x' AND `orders`.`total` > 0"
    )
    e = error([], SCHEMA, filter="stauts IS NULL")
    assert where(e) == (
        "table 'orders' has no column 'stauts'; did you mean 'status'?",
        "tables[0].filter",
        "columns of orders: " + ", ".join(SCHEMA.tables["orders"].columns),
    )


# -- notes -------------------------------------------------------------------------------------------------


def test_identical_attributes_are_noted() -> None:
    stmt = view(
        [
            {"name": "a", "source_table": "orders", **_fk("customers.id = orders.customer_id")},
            {"name": "b", "source_table": "orders", **_fk("customers.id = orders.customer_id")},
            {
                "name": "c",
                "source_table": "orders",
                **_fk("customers.id = orders.customer_id", "customers.email"),
            },
        ],
        SCHEMA,
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[2]): attributes 'a' and 'b' are computed identically (join:foreign-key); "
        "generated as written (not corrected), but check the contract"
    ]


def test_rowid_conventions_without_schema() -> None:
    stmt = view(
        [{"name": "a", "type": "S", "source_table": "orders", "source_column": "code"}], source="orders"
    )
    assert stmt.sql.endswith("  `orders`.`id` AS `_dm_rowid`\nFROM `orders`")
    c, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "T_x",
                    "type": "single-entity",
                    "source_table": "codes",
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_table": "codes", "source_column": "code"}
                    ],
                }
            ]
        }
    )
    assert c is not None and not problems.errors
    (stmt,) = generate_views(c).statements
    assert stmt.sql.endswith("  NULL AS `_dm_rowid`\nFROM `codes`")
    assert stmt.interpretations == []


# -- probes (preflight's silent-NULL counts) ---------------------------------------------------------------


def test_probes_of_joins_and_transformations() -> None:
    c = contract(
        [
            {"name": "a", "source_table": "orders", **_fk("customers.id = orders.customer_id")},
            {
                "name": "d",
                "source_table": "orders",
                **_tr({"type": "date-format", "format": "YYYY", "source_format": "DD.MM.YYYY"}, "day_text"),
            },
            {"name": "n", "source_table": "orders", **_tr({"type": "number-format", "format": "0"}, "total")},
            {"name": "x", "source_table": "orders", **_fk("customers.id > orders.customer_id")},
            {
                "name": "a2",
                "source_table": "orders",
                **_fk("customers.id = orders.customer_id", "customers.email"),
            },
            {
                "name": "m",
                "type": "S",
                "source_table": "orders",
                "source_column": "id",
                "calculation": {"type": "date-math", "expression": "created_at", "interval": "1 DAY"},
            },
        ]
    )
    (probe,) = entity_probes(c, c.tables[0], "mysql", SCHEMA)
    kinds = [(p.attribute, p.kind, p.path, p.inputs, p.target) for p in probe.probes]
    assert kinds == [
        ("a", "join", "tables[0].attributes[1].join", ["orders.customer_id"], "customers"),
        ("d", "transformation", "tables[0].attributes[2].transformation", ["orders.day_text"], None),
        ("n", "transformation", "tables[0].attributes[3].transformation", ["orders.total"], None),
        ("a2", "join", "tables[0].attributes[5].join", ["orders.customer_id"], "customers"),
        ("m", "calculation", "tables[0].attributes[6].calculation", ["(orders.created_at)"], None),
    ]
    assert probe.probes[3].condition == probe.probes[0].condition
    assert probe.probes[0].condition == "`orders`.`customer_id` IS NOT NULL AND `customers`.`id` IS NULL"
    text = "NULLIF(TRIM(CAST(`orders`.`day_text` AS CHAR)), '')"
    assert probe.probes[1].condition.startswith(
        f"`orders`.`day_text` IS NOT NULL AND (CASE WHEN MONTH(CASE WHEN {text} REGEXP CAST(X'"
    )
    assert probe.probes[1].condition.endswith(
        f"THEN DATE_ADD(STR_TO_DATE({text}, '%d.%m.%Y'), INTERVAL 0 SECOND) END, '%Y') END) IS NULL"
    )
    assert probe.probes[2].condition == (
        f"`orders`.`total` IS NOT NULL AND ({_number('`orders`.`total`', 0, None)}) IS NULL"
    )
    assert probe.probes[4].condition == (
        "(`orders`.`created_at`) IS NOT NULL AND (DATE_ADD(`orders`.`created_at`, INTERVAL 1 DAY)) IS NULL"
    )


def test_probes_of_multi_column_and_chain_joins() -> None:
    c = contract(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "orders",
                "source_column": "code",
                "join": {
                    "type": "multi-column",
                    "target_table": "codes",
                    "join_conditions": [
                        "codes.code = orders.code",
                        "codes.kind = orders.status",
                        "codes.kind = orders.status",
                    ],
                    "select_column": "codes.label",
                },
            },
            {
                "name": "b",
                "type": "S",
                "source_table": "orders",
                "source_column": "customer_id",
                "join": {
                    "type": "chain",
                    "joins": [
                        {
                            "target_table": "customers",
                            "join_condition": "customers.id = orders.customer_id",
                            "select_column": "customers.name",
                        },
                        {
                            "target_table": "regions",
                            "join_condition": "regions.id = customers.region_id",
                            "select_column": "regions.name",
                        },
                    ],
                },
            },
            {
                "name": "s",
                "type": "S",
                "source_table": "orders",
                "source_column": "id",
                "join": {
                    "type": "foreign-key",
                    "target_table": "codes",
                    "join_condition": "codes.code = 'fixed'",
                    "select_column": "codes.label",
                },
            },
        ]
    )
    (probe,) = entity_probes(c, c.tables[0])
    assert [(p.attribute, p.path, p.condition, p.inputs, p.target) for p in probe.probes] == [
        (
            "a",
            "tables[0].attributes[1].join",
            "`orders`.`code` IS NOT NULL AND `orders`.`status` IS NOT NULL AND `codes`.`code` IS NULL",
            ["orders.code", "orders.status"],
            "codes",
        ),
        (
            "b",
            "tables[0].attributes[2].join.joins[0]",
            "`orders`.`customer_id` IS NOT NULL AND `customers`.`id` IS NULL",
            ["orders.customer_id"],
            "customers",
        ),
        (
            "b",
            "tables[0].attributes[2].join.joins[1]",
            "`customers`.`region_id` IS NOT NULL AND `regions`.`id` IS NULL",
            ["customers.region_id"],
            "regions",
        ),
    ]


# -- the statements of a contract --------------------------------------------------------------------------


def test_generate_statements_selection_and_callback() -> None:
    c, problems = parse_contract(
        {
            "tables": [
                _table_json([], "orders", "A_one"),
                _table_json(
                    [{"name": "x", "type": "S", "source_table": "codes", "source_column": "label"}],
                    "codes",
                    "B_two",
                ),
            ]
        }
    )
    assert c is not None and not problems.errors
    seen: list[str] = []
    out = generate_statements(c, ["B_two"], "mariadb", None, True, lambda s: seen.append(s.table))
    assert [s.table for s in out] == ["B_two"] and seen == ["B_two"]
    out = generate_statements(c, None, "mysql", None, "full")
    assert [s.table for s in out] == ["A_one", "B_two"]
    assert generate_statements(c, [], "mysql") and len(generate_statements(c, (), "mysql")) == 2


# -- every fragment position: its name and JSON path in errors -----------------------------------------------

FK = "customers.id = orders.customer_id"


def _j(**kw: Any) -> Attribute:
    return Attribute("v", "S", "orders", "customer_id", join=Join(path="J", **kw))


def _c(**kw: Any) -> Attribute:
    return Attribute("v", "S", "orders", "id", calculation=Calculation(path="C", **kw))


def _construct(**kw: Any) -> Attribute:
    c = Construction(**{"type": "array", "select_columns": (("k", "items.sku"),), "path": "C", **kw})
    return _j(
        type="json-construction",
        target_table="items",
        join_condition="items.order_id = orders.id",
        construction=c,
    )


def _chain(cond: str, select: str) -> Attribute:
    return _j(type="chain", joins=(JoinStep("customers", cond, select, path="S"),))


def _cond(**kw: Any) -> Attribute:
    args = {
        "type": "conditional",
        "target_table": "customers",
        "join_condition": FK,
        "select_column": "customers.name",
    }
    return _j(**{**args, "condition": "orders.status = 'a'", "else_value": "x", **kw})


# (attribute with the fragment F in one position, what the error calls it, its path)
POSITIONS: list[tuple[str, Any, str, str]] = [
    (
        "fk condition",
        lambda f: _j(
            type="foreign-key", target_table="customers", join_condition=f, select_column="customers.name"
        ),
        "join condition",
        "J.join_condition",
    ),
    (
        "fk select",
        lambda f: _j(type="foreign-key", target_table="customers", join_condition=FK, select_column=f),
        "select_column",
        "J.select_column",
    ),
    (
        "multi-column",
        lambda f: _j(
            type="multi-column",
            target_table="customers",
            join_conditions=(FK, f),
            select_column="customers.name",
        ),
        "join condition",
        "J.join_conditions[1]",
    ),
    ("conditional condition", lambda f: _cond(condition=f), "condition", "J.condition"),
    ("chain condition", lambda f: _chain(f, "customers.name"), "join condition", "S.join_condition"),
    ("chain select", lambda f: _chain(FK, f), "select_column", "S.select_column"),
    (
        "construction condition",
        lambda f: _j(
            type="json-construction",
            target_table="items",
            join_condition=f,
            construction=Construction("array", (("k", "sku"),), path="C"),
        ),
        "join condition",
        "J.join_condition",
    ),
    (
        "construction member",
        lambda f: _construct(select_columns=(("k", f),)),
        "select column",
        "C.select_columns.k",
    ),
    ("construction order_by", lambda f: _construct(order_by=f), "order_by", "C.order_by"),
    (
        "aggregate condition",
        lambda f: _c(
            type="aggregate", target_table="items", join_condition=f, operation="SUM", select_column="qty"
        ),
        "join condition",
        "C.join_condition",
    ),
    (
        "aggregate select",
        lambda f: _c(
            type="aggregate",
            target_table="items",
            join_condition="items.order_id = orders.id",
            operation="SUM",
            select_column=f,
        ),
        "select_column",
        "C.select_column",
    ),
    ("case when", lambda f: _c(type="case", cases=(Case(f, "'a'", path="K"),)), "when", "K.when"),
    (
        "case then",
        lambda f: _c(type="case", cases=(Case("orders.id > 1", f, path="K"),)),
        "case result",
        "K.then",
    ),
    (
        "case else",
        lambda f: _c(type="case", cases=(Case("orders.id > 1", "'a'", path="K"),), else_value=f),
        "case result",
        "C.else",
    ),
    ("concat part", lambda f: _c(type="concat", parts=("orders.code", f)), "concat part", "C.parts[1]"),
    (
        "date-math",
        lambda f: _c(type="date-math", expression=f, interval="1 DAY"),
        "expression",
        "C.expression",
    ),
]


@pytest.mark.parametrize(("position", "make", "what", "path"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_unsafe_fragment_is_refused_where_it_stands(position: str, make: Any, what: str, path: str) -> None:
    e = direct_error([make("@x")])
    assert where(e) == (
        f"the {what} '@x' contains a variable (Parameter)",
        path,
        "write one plain SQL expression",
    )


@pytest.mark.parametrize(("position", "make", "what", "path"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_unknown_qualifier_is_refused_where_it_stands(position: str, make: Any, what: str, path: str) -> None:
    e = direct_error([make("zz.a = 1")])
    assert e.message.startswith(f"'zz.a' in the {what} refers to 'zz', which is not in scope here"), e.message
    assert e.where["path"] == path


@pytest.mark.parametrize(("position", "make", "what", "path"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_unknown_column_is_refused_where_it_stands(position: str, make: Any, what: str, path: str) -> None:
    e = direct_error([make("orders.nope = 1")], schema=SCHEMA)
    assert e.message == "table 'orders' has no column 'nope'", e.message
    assert e.where["path"] == path


@pytest.mark.parametrize(("position", "make", "what", "path"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_an_empty_list_item_is_refused_where_it_stands(
    position: str, make: Any, what: str, path: str
) -> None:
    # the parser reads IF(a,,b) as IF(a, b, NULL) and an order_by "a,,b" as "a, b"; MySQL refuses both:
    # an uncertain reading stops at its path, with the corrected order_by when the correction is certain
    text = "orders.id, , orders.code" if position == "construction order_by" else "IF(orders.id > 1,, 'b')"
    e = direct_error([make(text)])
    if position == "construction order_by":
        assert where(e) == (
            f"the order_by {text!r} has an empty item in a list (at character 12: orders.id, <here>, orders.code)",
            path,
            'remove the empty item: "order_by": "orders.id, orders.code"',
        )
    else:
        assert where(e) == (
            f"the {what} {text!r} has an empty item in a list (at character 18: IF(orders.id > 1,<here>, 'b'))",
            path,
            "write the missing expression between the commas, or remove the extra ','",
        )


@pytest.mark.parametrize(
    ("order_by", "corrected"),
    [
        ("a,,", "a"),
        (",a DESC", "a DESC"),
        ("a DESC,, b", "a DESC, b"),
        ("FIELD(a, 'x,,y',), b,", "FIELD(a, 'x,,y'), b"),
    ],
)
def test_an_order_by_with_empty_items_names_the_list_without_them(order_by: str, corrected: str) -> None:
    with pytest.raises(UnsafeSqlError) as err:
        parse_order_by(order_by, path="C.order_by")
    assert err.value.hint == f'remove the empty item: "order_by": "{corrected}"'
    assert parse_order_by(corrected)  # the corrected text is accepted


@pytest.mark.parametrize("text", ["CONCAT(a, ',,')", "IF(a, 'x,', b)", "COALESCE(`a,`, b)", "FIELD(a, 1, 2)"])
def test_commas_inside_strings_and_names_are_no_empty_items(text: str) -> None:
    assert render_sql(parse_fragment(text)).count(",") == text.count(",")


def test_else_value_fragments() -> None:
    e = direct_error([_cond(else_value="'a' + @x + 'b'")])
    assert where(e) == (
        "the else_value \"'a' + @x + 'b'\" contains a variable (Parameter)",
        "J.else_value",
        "write one plain SQL expression",
    )
    e = direct_error([_cond(else_value="orders.nope")], schema=SCHEMA)
    assert where(e)[:2] == ("table 'orders' has no column 'nope'", "J.else_value")
    # quoted at both ends but not one string: the text as written, not an SQL expression
    stmt = direct([_cond(else_value="'a' + 'b'")])
    assert expr(stmt, "v") == txt(
        "CASE WHEN `orders`.`status` = 'a' THEN `customers`.`name` ELSE '''a'' + ''b''' END"
    )


def test_self_reference_error_snippets_name_the_foreign_key() -> None:
    def err(cond: str) -> DynamigrateError:
        attr = Attribute(
            "v",
            "S",
            "customers",
            "id",
            join=Join("foreign-key", "customers", cond, select_column="name", path="J"),
        )
        return direct_error([attr], "customers")

    # the condition as MySQL writes it (backticks kept), the first non-key column as the foreign key
    e = err("`customers`.`referrer_id` < customers.id")
    assert e.message == (
        "the condition '`customers`.`referrer_id` < customers.id' compares customers with itself and no reading "
        "is certain (primary key customers.id)"
    )
    assert e.hint is not None and '"join_condition": "parent.id = customers.referrer_id"' in e.hint
    e = err("customers.ID < customers.referrer_id")
    assert e.hint is not None and '"join_condition": "parent.id = customers.referrer_id"' in e.hint
    # only the key itself: the snippet's placeholder foreign key
    e = err("customers.id < customers.id + 1")
    assert e.hint is not None and '"join_condition": "parent.id = customers.parent_id"' in e.hint


def test_chain_steps_through_self_references() -> None:
    steps = [
        {
            "target_table": "customers",
            "join_condition": "customers.id = customers.referrer_id",
            "select_column": "name",
        },
        {
            "target_table": "customers",
            "join_condition": "customers.id = customers.id",
            "select_column": "email",
        },
    ]
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "customers",
                "source_column": "referrer_id",
                "join": {"type": "chain", "joins": steps, "chain_separator": " "},
            }
        ],
        SCHEMA,
        source="customers",
    )
    # step 1 joins the referrer; step 2 compares that row with itself: the same row, no second join
    assert expr(stmt, "a") == txt(
        "CASE WHEN COALESCE(`customers_2`.`name`, `customers_2`.`email`) IS NULL THEN NULL ELSE "
        "CONCAT_WS(' ', `customers_2`.`name`, `customers_2`.`email`) END"
    )
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers_2` ON `customers_2`.`id` = `customers`.`referrer_id`"
    ]
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].join.joins[0]): join to customers from customers read as: customers AS "
        "customers_2 ON customers_2.id = customers.referrer_id (the joined row is the one whose primary key is compared)",
        "T_x (tables[0].attributes[1].join.joins[1].join_condition): join_condition 'customers.id = customers.id' "
        "compares customers with itself on its primary key: the row itself (no join)",
    ]


def test_chain_of_three_steps_over_a_capitalised_self_reference() -> None:
    steps = [
        {"target_table": "Nodes", "join_condition": "Nodes.id = Nodes.parent_id", "select_column": "name"},
        {"target_table": "Nodes", "join_condition": "Nodes.id = Nodes.id", "select_column": "label"},
        {"target_table": "tags", "join_condition": "tags.node_id = Nodes.id", "select_column": "tags.name"},
    ]
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "Nodes",
                "source_column": "parent_id",
                "join": {"type": "chain", "joins": steps},
            }
        ],
        source="Nodes",
    )
    # without a separator the value is the last step's; "Nodes" after step 1 is the parent row
    assert expr(stmt, "a") == txt("`tags`.`name`")
    assert joins(stmt) == [
        "LEFT JOIN `Nodes` AS `Nodes_2` ON `Nodes_2`.`id` = `Nodes`.`parent_id`",
        "LEFT JOIN `tags` AS `tags` ON `tags`.`node_id` = `Nodes_2`.`id`",
    ]


@pytest.mark.parametrize(
    ("position", "make", "what", "path"),
    [p for p in POSITIONS if p[0] not in ("multi-column", "construction order_by", "case then", "case else")],
    ids=[
        p[0]
        for p in POSITIONS
        if p[0] not in ("multi-column", "construction order_by", "case then", "case else")
    ],
)
def test_missing_fragment_is_an_empty_expression(position: str, make: Any, what: str, path: str) -> None:
    """Fragments the contract parser requires, left out of a model built in code."""
    e = direct_error([make(None)])
    assert where(e) == (f"the {what} is empty", path, "write an SQL expression")


def test_else_value_empty_string_and_bool() -> None:
    stmt = direct([_cond(else_value="''")])
    assert expr(stmt, "v") == txt("CASE WHEN `orders`.`status` = 'a' THEN `customers`.`name` ELSE '' END")
    assert stmt.interpretations[0] == (
        "T_x (J.else_value): else_value \"''\" is written as an SQL string: read as the text ''"
    )
    attr = _cond(else_value=False, select_column="customers.active")
    stmt = direct([Attribute("v", "BOOL", "orders", "customer_id", join=attr.join)])
    assert expr(stmt, "v") == "CASE WHEN `orders`.`status` = 'a' THEN `customers`.`active` ELSE 0 END"


def test_chain_step_back_to_the_source_table_through_another_row() -> None:
    steps = [
        {
            "target_table": "customers",
            "join_condition": "customers.id = orders.customer_id",
            "select_column": "name",
        },
        {
            "target_table": "orders",
            "join_condition": "orders.id = customers.last_order_id",
            "select_column": "code",
        },
    ]
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "orders",
                "source_column": "customer_id",
                "join": {"type": "chain", "joins": steps},
            }
        ]
    )
    # orders is in scope (the current row), but the condition compares it with the customer's row: the
    # unqualified side is the joined orders row, the customer's column stays the customer's
    assert expr(stmt, "a") == txt("`orders_2`.`code`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`",
        "LEFT JOIN `orders` AS `orders_2` ON `orders_2`.`id` = `customers`.`last_order_id`",
    ]
    assert stmt.interpretations[0] == (
        "T_x (tables[0].attributes[1].join.joins[1].join_condition): assumed primary key orders.id (no schema given)"
    )
    assert stmt.interpretations[1] == (
        "T_x (tables[0].attributes[1].join.joins[1]): join to orders from orders read as: orders AS orders_2 ON "
        "orders_2.id = customers.last_order_id (the joined row is the one whose primary key is compared)"
    )


def test_to_many_self_reference_without_equality() -> None:
    attrs = [
        Attribute(
            "v",
            "N",
            "customers",
            "id",
            calculation=Calculation(
                "aggregate", "customers", "customers.referrer_id > customers.id", "COUNT", "*", path="C"
            ),
        )
    ]
    e = direct_error(attrs, "customers")
    assert where(e) == (
        "the condition 'customers.referrer_id > customers.id' compares customers with itself and no reading is certain "
        "(primary key customers.id)",
        "C.join_condition",
        'declare an alias for the joined row, e.g. "join_condition": "child.referrer_id = customers.id"  '
        "(and refer to the related rows as child.*)",
    )


def test_to_many_unqualified_columns_resolved_by_schema() -> None:
    stmt = view(
        [{"name": "v", "source_table": "orders", **_agg("SUM", "qty", cond="order_id = orders.id")}], SCHEMA
    )
    assert expr(stmt, "v") == txt(
        "(SELECT SUM(`items`.`qty`) FROM `items` AS `items` WHERE `items`.`order_id` = `orders`.`id`)"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[1].calculation.join_condition): unqualified column 'order_id' in the join "
        "condition read as items.order_id"
    ]


def test_chain_step_self_reference_reads_the_row_in_scope() -> None:
    steps = [
        {
            "target_table": "customers",
            "join_condition": "customers.id = orders.customer_id",
            "select_column": "name",
        },
        {
            "target_table": "customers",
            "join_condition": "customers.id = customers.referrer_id",
            "select_column": "name",
        },
    ]
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "orders",
                "source_column": "customer_id",
                "join": {"type": "chain", "joins": steps},
            }
        ],
        SCHEMA,
    )
    # the referrer of the order's customer (customers is the customer's row once step 1 joined it)
    assert expr(stmt, "a") == txt("`customers_2`.`name`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`",
        "LEFT JOIN `customers` AS `customers_2` ON `customers_2`.`id` = `customers`.`referrer_id`",
    ]


def test_match_guard_of_self_references_and_or_conditions() -> None:
    c = contract(
        [
            {
                "name": "r",
                "source_table": "customers",
                **_fk("customers.id = customers.referrer_id", "UPPER(name)"),
            }
        ],
        source="customers",
    )
    (stmt,) = generate_views(c, schema=SCHEMA).statements
    # the joined row's key (by the primary-key rule) tells whether a row matched
    assert expr(stmt, "r") == txt(
        "CASE WHEN `customers_2`.`id` IS NULL THEN NULL ELSE UPPER(`customers_2`.`name`) END"
    )
    (probe,) = entity_probes(c, c.tables[0], "mysql", SCHEMA)
    assert [p.condition for p in probe.probes] == [
        "`customers`.`referrer_id` IS NOT NULL AND `customers_2`.`id` IS NULL"
    ]
    # an OR of equalities proves no match: no guard, no probe
    cond = "customers.id = orders.customer_id OR customers.email = orders.code"
    stmt = view([{"name": "a", "source_table": "orders", **_fk(cond, "UPPER(customers.name)")}])
    assert expr(stmt, "a") == txt("UPPER(`customers`.`name`)")


def test_conditional_join_names() -> None:
    def cond(condition: str, else_value: Any, target: str = "customers", on: str = FK) -> dict[str, Any]:
        return {
            "type": "S",
            "source_column": "customer_id",
            "join": {
                "type": "conditional",
                "target_table": target,
                "join_condition": on,
                "select_column": "name",
                "condition": condition,
                "else_value": else_value,
            },
        }

    # the target named in another case, or the source table, is no undeclared alias
    stmt = view([{"name": "a", "source_table": "orders", **cond("customers.vip = 1", "Customers.email")}])
    assert expr(stmt, "a") == txt(
        "CASE WHEN `customers`.`vip` = 1 THEN `customers`.`name` ELSE `customers`.`email` END"
    )
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`"
    ]
    stmt = view([{"name": "a", "source_table": "orders", **cond("orders.status = 'x'", "orders.code")}])
    assert expr(stmt, "a") == txt(
        "CASE WHEN `orders`.`status` = 'x' THEN `customers`.`name` ELSE `orders`.`code` END"
    )
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`"
    ]
    # an undeclared alias in else_value names the join's row in the condition too
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **cond("x.vip = 1", "x.email", on="customers.id = orders.parent_id"),
            }
        ]
    )
    assert expr(stmt, "a") == txt("CASE WHEN `x`.`vip` = 1 THEN `x`.`name` ELSE `x`.`email` END")
    # over the source table itself: the condition reads the current row, the select the joined one
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **cond("orders.status = 'x'", "'none'", "orders", "orders.id = orders.parent_id"),
            }
        ]
    )
    assert expr(stmt, "a") == txt("CASE WHEN `orders`.`status` = 'x' THEN `orders_2`.`name` ELSE 'none' END")
    assert (
        "T_x (tables[0].attributes[1].join.condition): 'orders.status = 'x'' read over the current row (orders)"
        in (stmt.interpretations)
    )


def test_self_join_select_reads_both_rows_and_bool_null_value() -> None:
    j = {"type": "self-join", "join_alias": "p", "join_condition": "p.id = orders.parent_id"}
    stmt = view(
        [
            {
                "name": "a",
                "type": "S",
                "source_table": "orders",
                "source_column": "parent_id",
                "join": {**j, "select_column": "CONCAT(p.code, orders.code)"},
            },
            {
                "name": "b",
                "type": "BOOL",
                "source_table": "orders",
                "source_column": "parent_id",
                "join": {**j, "select_column": "p.paid", "null_value": True},
            },
        ]
    )
    assert expr(stmt, "a") == txt(
        "CASE WHEN `p`.`id` IS NULL THEN NULL ELSE CONCAT(`p`.`code`, `orders`.`code`) END"
    )
    assert expr(stmt, "b") == "CASE WHEN `p`.`id` IS NULL THEN 1 ELSE `p`.`paid` END"


def test_join_alias_only_counts_for_self_joins() -> None:
    attr = _j(
        type="foreign-key",
        target_table="customers",
        join_condition=FK,
        select_column="customers.name",
        join_alias="zz",
    )
    stmt = direct([attr])
    assert expr(stmt, "v") == txt("`customers`.`name`")
    assert joins(stmt) == [
        "LEFT JOIN `customers` AS `customers` ON `customers`.`id` = `orders`.`customer_id`"
    ]


def test_aliases_of_odd_long_and_reserved_table_names() -> None:
    long = "t" * 64
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **_fk("_dm_legacy.id = orders.customer_id", "_dm_legacy.name", "_dm_legacy"),
            },
            {
                "name": "b",
                "source_table": "orders",
                **_fk(f"{long}.id = orders.customer_id", f"UPPER({long}.name)", long),
            },
            {
                "name": "c",
                "source_table": "orders",
                **_fk(f"{long}.id = orders.parent_id", f"{long}.name", long),
            },
            {
                "name": "d",
                "source_table": "orders",
                **_fk("`order items`.id = orders.id", "`order items`.sku", "order items"),
            },
        ]
    )
    # a _dm_ name is the generator's own (_dm_arr...): prefixed; 60 characters leave room for a suffix
    assert joins(stmt) == [
        "LEFT JOIN `_dm_legacy` AS `t_dm_legacy` ON `t_dm_legacy`.`id` = `orders`.`customer_id`",
        f"LEFT JOIN `{long}` AS `{'t' * 60}` ON `{'t' * 60}`.`id` = `orders`.`customer_id`",
        f"LEFT JOIN `{long}` AS `{'t' * 60}_2` ON `{'t' * 60}_2`.`id` = `orders`.`parent_id`",
        "LEFT JOIN `order items` AS `order_items` ON `order_items`.`id` = `orders`.`id`",
    ]
    assert expr(stmt, "a") == txt("`t_dm_legacy`.`name`")
    assert expr(stmt, "d") == txt("`order_items`.`sku`")


def test_attribute_source_table_and_null_type() -> None:
    # a joined attribute may name the joined table as its source_table
    stmt = view(
        [
            {"name": "a", "source_table": "customers", **_fk(FK)},
            {"name": "n", "type": "NULL", "source_table": "orders", "source_column": "gone"},
        ]
    )
    assert expr(stmt, "a") == txt("`customers`.`name`")
    assert expr(stmt, "n") == "`orders`.`gone`"
    e = error([{"name": "t", "source_table": "customers", **_tr({"type": "static", "value": "x"})}])
    assert e.message == (
        "attribute 't' takes its value from customers, but the entity reads orders and the attribute has no join"
    )


def test_rowid_with_a_schema_that_lacks_the_table_and_an_upper_case_id() -> None:
    stmt = view([], SchemaInfo(database="db", tables={}, version="8.0.36"))
    assert stmt.sql.endswith("  NULL AS `_dm_rowid`\nFROM `orders`")
    assert stmt.interpretations == []
    stmt = view([], pk_column="ID")
    assert stmt.sql.endswith("  `orders`.`id` AS `_dm_rowid`\nFROM `orders`")
    assert stmt.interpretations == ["T_x (tables[0]): _dm_rowid assumed to be orders.id (no schema given)"]
    # a table the schema lists without columns is not checked
    empty = SchemaInfo(
        database="db",
        tables={"orders": TableInfo(name="orders", columns={}, primary_key=())},
        version="8.0.36",
    )
    stmt = view([{"name": "a", "type": "S", "source_table": "orders", "source_column": "anything"}], empty)
    assert expr(stmt, "a") == txt("`orders`.`anything`")


def test_keyless_entity_in_a_union_has_null_key_columns() -> None:
    schema = SchemaInfo(
        database="db",
        tables={**SCHEMA.tables, "logs": tbl("logs", (), ("id", "int"), ("msg", "varchar"))},
        version="10.11.6-MariaDB",
    )
    data = {
        "tables": [
            {
                "table": "Mixed",
                "type": "multi-entity",
                "pk": "PK",
                "entities": [
                    {
                        "entity_type": "LOG",
                        "source_table": "logs",
                        "attributes": [
                            {"name": "PK", "type": "S", "source_table": "logs", "source_column": "msg"}
                        ],
                    },
                    {
                        "entity_type": "ORDER",
                        "source_table": "orders",
                        "attributes": [
                            {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"}
                        ],
                    },
                ],
            }
        ]
    }
    c, problems = parse_contract(data)
    assert c is not None and not problems.errors, problems
    (stmt,) = generate_views(c, schema=schema).statements
    first, second = stmt.sql.split("\nUNION ALL\n")
    assert first.endswith("  NULL AS `_dm_rowid`,\n  NULL AS `_dm_k1`\nFROM `logs`")
    assert second.endswith("  `orders`.`id` AS `_dm_rowid`,\n  `orders`.`id` AS `_dm_k1`\nFROM `orders`")


@pytest.mark.parametrize(
    ("sql", "single"),
    [
        (f"CAST(x AS {T})", True),
        (f"CAST(CONCAT(a, ')') AS {T})", True),
        (f"CAST(`a)` AS {T})", True),
        (f'CAST("(" AS {T})', True),
        (f"CAST(a AS {T}), CAST(b AS {T})", False),
        (f"CAST('x' AS {T}), CAST(b AS {T})", False),
        (f"CAST(X AS {T}), CAST(b AS {T})", False),
        (f"CAST(a AS {T}) ", False),
        (f"CONVERT(a AS {T})", False),
        ("CAST(a AS CHAR)", False),
    ],
)
def test_is_text_cast(sql: str, single: bool) -> None:
    assert _is_text_cast(sql, f"CAST( AS {T})") is single


def test_identical_calculations_and_chains_are_noted() -> None:
    agg = _agg("COUNT", "*")
    steps = [{"target_table": "customers", "join_condition": FK, "select_column": "customers.name"}]
    chain = {"type": "S", "source_column": "customer_id", "join": {"type": "chain", "joins": steps}}
    stmt = view(
        [
            {"name": "a", "source_table": "orders", **agg},
            {"name": "b", "source_table": "orders", **agg},
            {"name": "c", "source_table": "orders", **chain},
            {"name": "d", "source_table": "orders", **chain},
            {"name": "e", "source_table": "orders", **_tr({"type": "static", "value": "x"})},
            {"name": "f", "source_table": "orders", **_tr({"type": "static", "value": "x"})},
        ]
    )
    assert [i for i in stmt.interpretations if "computed identically" in i] == [
        "T_x (tables[0].attributes[2]): attributes 'a' and 'b' are computed identically (calculation:aggregate); "
        "generated as written (not corrected), but check the contract",
        "T_x (tables[0].attributes[4]): attributes 'c' and 'd' are computed identically (join:chain); "
        "generated as written (not corrected), but check the contract",
    ]


def test_long_reserved_table_alias_and_guard_of_a_current_row_select() -> None:
    long = "_dm_" + "x" * 60
    stmt = view(
        [
            {
                "name": "a",
                "source_table": "orders",
                **_fk(f"{long}.id = orders.customer_id", f"{long}.name", long),
            }
        ]
    )
    assert joins(stmt) == [
        f"LEFT JOIN `{long}` AS `t{long[:59]}` ON `t{long[:59]}`.`id` = `orders`.`customer_id`"
    ]
    # a select_column that is a column of the current row is still absent when no row matched
    stmt = view([{"name": "a", "source_table": "orders", **_fk(FK, "orders.code")}])
    assert expr(stmt, "a") == txt("CASE WHEN `customers`.`id` IS NULL THEN NULL ELSE `orders`.`code` END")


def test_defaults_names_and_filters() -> None:
    ordered = _jc({"type": "array", "select_columns": {"s": "sku"}, "limit": 1})
    c = contract([{"name": "v", "source_table": "orders", **ordered}])
    mysql = generate_views(c, dialect="mysql").statements[0].sql
    assert generate_statements(c)[0].sql == mysql  # MySQL 8 by default
    assert generate_table_view(c.tables[0]).sql == mysql
    e = error([{"name": "a\U00010000", "type": "S", "source_table": "orders", "source_column": "a"}])
    assert e.where["path"] == "tables[0].attributes[1].name"
    e = error([], filter="customers.x = 1")
    assert e.where["path"] == "tables[0].filter"
    e = error([{"name": "a", "source_table": "orders", **_fk(FK, "`db`.customers.name")}])
    assert e.message.startswith("the select_column names a database ('`db`.customers.name')")


def test_different_chains_are_not_noted_and_a_second_join_names_its_table() -> None:
    def chain(select: str) -> dict[str, Any]:
        steps = [{"target_table": "customers", "join_condition": FK, "select_column": select}]
        return {"type": "S", "source_column": "customer_id", "join": {"type": "chain", "joins": steps}}

    stmt = view(
        [
            {"name": "c", "source_table": "orders", **chain("name")},
            {"name": "d", "source_table": "orders", **chain("email")},
        ]
    )
    assert not [i for i in stmt.interpretations if "computed identically" in i]
    c = contract(
        [
            {"name": "a", "source_table": "orders", **_fk(FK)},
            {"name": "b", "source_table": "orders", **_fk("email = orders.code", "customers.name")},
        ]
    )
    (stmt,) = generate_statements(c, None, "mysql", SCHEMA)  # email is no key: C302 would stop views generate
    assert (
        joins(stmt)[1] == "LEFT JOIN `customers` AS `customers_2` ON `customers_2`.`email` = `orders`.`code`"
    )
    assert stmt.interpretations == [
        "T_x (tables[0].attributes[2].join.join_condition): unqualified column 'email' in the join condition read as "
        "customers.email"
    ]
