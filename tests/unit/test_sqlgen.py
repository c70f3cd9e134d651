"""View generation without a database: shapes, self-reference rule, safety, errors, file format, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.cli import main as cli_main
from dynamigrate.contract import load_contract, parse_contract
from dynamigrate.errors import ContractError, SqlGenError, UnsafeSqlError
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo
from dynamigrate.sqlgen import (
    MariaDBDialect,
    MySQL8Dialect,
    assert_single_create_view,
    date_format_spec,
    dialect_from_version,
    generate_views,
    get_dialect,
    split_statements,
)
from dynamigrate.sqlgen.safety import check_statement_shape

ROOT = Path(__file__).resolve().parents[2]
WORKSHOP = ROOT / "tests" / "golden" / "views" / "workshop.contract.json"
ALL_PATTERNS = ROOT / "tests" / "fixtures" / "contracts" / "all_patterns.json"


def _contract(attrs: list[dict[str, Any]], source: str = "orders", table: str = "T_orders") -> Any:
    data = {
        "tables": [
            {
                "table": table,
                "type": "single-entity",
                "source_table": source,
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": source, "source_column": "id"},
                    *attrs,
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return contract


def _fk(condition: str, select: str = "users.email", target: str = "users") -> dict[str, Any]:
    return {
        "name": "v",
        "type": "S",
        "source_table": "orders",
        "source_column": "user_id",
        "join": {
            "type": "foreign-key",
            "target_table": target,
            "join_condition": condition,
            "select_column": select,
        },
    }


def _schema(*tables: TableInfo) -> SchemaInfo:
    return SchemaInfo(database="db", tables={t.name: t for t in tables}, version="10.11.6-MariaDB")


def _table(name: str, pk: tuple[str, ...], *cols: tuple[str, str]) -> TableInfo:
    return TableInfo(name=name, columns={c: ColumnInfo(name=c, data_type=t) for c, t in cols}, primary_key=pk)


# -- the workshop contract ------------------------------------------------------------------------------


def test_workshop_products_category_path_stops_with_the_snippet() -> None:
    with pytest.raises(ContractError) as err:
        generate_views(load_contract(WORKSHOP))
    (p,) = err.value.problems
    assert (p.path, p.code) == ("tables[1].attributes[4].join.join_condition", "C301")
    assert '"join_condition": "categories.id = products.category_id"' in (p.fix or "")
    # the other tables have only certain readings: they generate
    assert len(generate_views(load_contract(WORKSHOP), ["Users", "Categories"]).statements) == 2


def test_workshop_interpretations_are_printed_and_commented() -> None:
    views = generate_views(load_contract(WORKSHOP), accept=("C301",))
    notes = "\n".join(views.interpretations)
    assert "assumed primary key categories.id (no schema given)" in notes
    assert "'level' and 'children_count' are computed identically" in notes
    assert "undeclared alias 'parent'" in notes
    assert "'users.id = users.id' matches the row itself" in notes
    # products' self-join on category_id, accepted knowingly
    assert "accepted knowingly (C301), generated as written" in notes
    text = views.render_file(include_timestamp=False)
    for line in views.interpretations:
        assert f"--   * {line}" in text


def test_workshop_categories_shape() -> None:
    sql = generate_views(load_contract(WORKSHOP), ["Categories"]).statements[0].sql
    # to-one self-reference: the joined row is the one whose primary key is compared; joined once
    assert sql.count("LEFT JOIN") == 1
    assert "LEFT JOIN `categories` AS `parent` ON `parent`.`id` = `categories`.`parent_id`" in sql
    assert "CASE WHEN `categories`.`parent_id` IS NULL THEN 'ROOT' ELSE `parent`.`name` END" in sql
    assert "CASE WHEN `categories`.`parent_id` IS NULL THEN 'ROOT' ELSE `parent`.`id` END" in sql
    # to-many self-reference: the related rows are the ones whose foreign key points at the current row
    assert "WHERE `categories_2`.`parent_id` = `categories`.`id`" in sql
    assert "`categories`.`id` AS `_dm_rowid`" in sql


def test_workshop_users_union_and_columns() -> None:
    stmt = generate_views(load_contract(WORKSHOP), ["Users"]).statements[0]
    assert stmt.sql.count("UNION ALL") == 2
    assert stmt.columns[-2:] == ["_dm_entity", "_dm_rowid"]
    assert stmt.entities == ["USER", "CART", "ORDER"]
    # the object construction over the row itself needs no subquery
    assert "JSON_OBJECT('first_name', `users`.`first_name`, 'last_name', `users`.`last_name`)" in stmt.sql
    # a to-many construct is a correlated subquery with [] for no rows
    assert "COALESCE(JSON_ARRAYAGG(JSON_OBJECT('product_id'" in stmt.sql
    assert "JSON_ARRAY())" in stmt.sql


def test_schema_gives_certain_primary_keys_and_rowid() -> None:
    schema = _schema(
        _table(
            "categories",
            ("id",),
            ("id", "int"),
            ("parent_id", "int"),
            ("name", "varchar"),
            ("created_at", "datetime"),
        ),
        _table("products", ("id",), ("id", "int"), ("category_id", "int")),
    )
    views = generate_views(load_contract(WORKSHOP), ["Categories"], schema=schema)
    assert not [i for i in views.interpretations if "assumed" in i]
    assert "`categories`.`id` AS `_dm_rowid`" in views.statements[0].sql


def test_rowid_is_null_without_integer_primary_key() -> None:
    schema = _schema(_table("orders", ("code",), ("code", "varchar"), ("id", "varchar")))
    sql = generate_views(_contract([]), schema=schema).statements[0].sql
    assert "NULL AS `_dm_rowid`" in sql


# -- self-references ------------------------------------------------------------------------------------


def test_uncertain_self_reference_stops_with_corrected_snippet() -> None:
    attr = {
        "name": "v",
        "type": "S",
        "source_table": "categories",
        "source_column": "parent_id",
        "join": {
            "type": "foreign-key",
            "target_table": "categories",
            "join_condition": "categories.parent_id = categories.other_id",
            "select_column": "categories.name",
        },
    }
    with pytest.raises(ContractError) as err:
        generate_views(_contract([attr], source="categories", table="Cats"))
    assert err.value.where["path"] == "tables[0].attributes[1].join.join_condition"
    assert '"join_alias": "parent"' in (err.value.hint or "")
    assert "parent.id = categories." in (err.value.hint or "")


def test_self_reference_uses_schema_primary_key() -> None:
    schema = _schema(
        _table("nodes", ("node_no",), ("node_no", "int"), ("up_no", "int"), ("label", "varchar"))
    )
    attr = {
        "name": "up_label",
        "type": "S",
        "source_table": "nodes",
        "source_column": "up_no",
        "join": {
            "type": "foreign-key",
            "target_table": "nodes",
            "join_condition": "nodes.up_no = nodes.node_no",
            "select_column": "nodes.label",
        },
    }
    contract = parse_contract(
        {
            "tables": [
                {
                    "table": "Nodes",
                    "type": "single-entity",
                    "source_table": "nodes",
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_table": "nodes", "source_column": "node_no"},
                        attr,
                    ],
                }
            ]
        }
    )[0]
    sql = generate_views(contract, schema=schema).statements[0].sql
    assert "LEFT JOIN `nodes` AS `nodes_2` ON `nodes`.`up_no` = `nodes_2`.`node_no`" in sql
    assert "CAST(`nodes_2`.`label` AS CHAR CHARACTER SET utf8mb4) AS `up_label`" in sql
    assert "`nodes`.`node_no` AS `_dm_rowid`" in sql


def test_repeated_joins_are_joined_once() -> None:
    contract = _contract(
        [_fk("users.id = orders.user_id"), {**_fk("orders.user_id = users.id", "users.name"), "name": "w"}]
    )
    sql = generate_views(contract).statements[0].sql
    assert sql.count("LEFT JOIN `users`") == 2  # different condition text: not merged blindly
    contract = _contract(
        [_fk("users.id = orders.user_id"), {**_fk("users.id = orders.user_id", "users.name"), "name": "w"}]
    )
    sql = generate_views(contract).statements[0].sql
    assert sql.count("LEFT JOIN `users`") == 1


# -- safety -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        "users.id = orders.user_id; DROP TABLE users",
        "users.id = orders.user_id -- drop",
        "users.id = orders.user_id # drop",
        "users.id = orders.user_id /* x */",
        "users.id = (SELECT id FROM users LIMIT 1)",
        "users.id = orders.user_id AND SLEEP(10) = 0",
        "users.id = @@version",
        "DROP TABLE users",
    ],
)
def test_fragments_that_are_not_expressions_are_refused(condition: str) -> None:
    with pytest.raises(UnsafeSqlError) as err:
        generate_views(_contract([_fk(condition)]))
    assert err.value.where["path"] == "tables[0].attributes[1].join.join_condition"


def test_select_column_injection_is_refused() -> None:
    with pytest.raises(UnsafeSqlError) as err:
        generate_views(
            _contract([_fk("users.id = orders.user_id", "users.email FROM users; DROP TABLE users")])
        )
    assert err.value.where["path"] == "tables[0].attributes[1].join.select_column"


def test_unknown_qualifier_is_refused_with_path() -> None:
    with pytest.raises(ContractError) as err:
        generate_views(_contract([_fk("users.id = orders.user_id", "customers.email")]))
    assert err.value.where["path"] == "tables[0].attributes[1].join.select_column"
    assert "not in scope" in str(err.value)


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE users",
        "CREATE VIEW v AS SELECT 1; DROP TABLE users",
        "CREATE TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1 -- hidden",
        "INSERT INTO t VALUES (1)",
    ],
)
def test_assert_single_create_view_refuses(sql: str) -> None:
    with pytest.raises(UnsafeSqlError):
        assert_single_create_view(sql, "mysql", table="T")
    with pytest.raises(UnsafeSqlError):
        check_statement_shape(sql, "mysql", table="T")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE VIEW v AS SELECT 1 /*!50000 , (SELECT 1) */",
        "CREATE VIEW v AS SELECT 1 INTO OUTFILE '/tmp/x'",
        "CREATE VIEW v AS SELECT @x := 1",
        "CREATE VIEW v AS SELECT (1",
        "CREATE VIEW v AS DELETE FROM t",
    ],
)
def test_statement_shape_check_refuses(sql: str) -> None:
    with pytest.raises(UnsafeSqlError):
        check_statement_shape(sql, "mysql", table="T")


def test_full_check_mode() -> None:
    views = generate_views(load_contract(ALL_PATTERNS), dialect="mariadb", check="full")
    assert len(views.statements) == 3


def test_assert_single_create_view_accepts_generated() -> None:
    for stmt in generate_views(load_contract(ALL_PATTERNS), dialect="mysql").statements:
        assert_single_create_view(stmt.sql + ";", "mysql", table=stmt.table)


# -- values and formats -----------------------------------------------------------------------------------


def test_quoting_and_literals() -> None:
    d = MySQL8Dialect()
    assert d.quote("we`ird") == "`we``ird`"
    assert d.literal("it's") == "'it''s'"
    # a backslash means different things under NO_BACKSLASH_ESCAPES: hex keeps the meaning
    assert d.literal("a\\b") == "CAST(X'615C62' AS CHAR CHARACTER SET utf8mb4)"
    with pytest.raises(SqlGenError):
        d.quote("")


def test_date_format_tokens() -> None:
    assert date_format_spec("YYYY-MM-DD HH:mm:ss") == "%Y-%m-%d %H:%i:%s"
    assert date_format_spec("YYYY%MM") == "%Y%%%m"
    assert date_format_spec("DDTHH") == "%dT%H"


def test_dialects() -> None:
    assert isinstance(get_dialect("mariadb"), MariaDBDialect)
    assert get_dialect(None).name == "mysql"
    assert dialect_from_version("10.11.6-MariaDB-0+deb12u1") == "mariadb"
    assert dialect_from_version("8.0.36") == "mysql"
    assert MariaDBDialect().json_document("x") == "JSON_EXTRACT(x, '$')"
    assert MySQL8Dialect().json_document("x") == "CAST(x AS JSON)"
    with pytest.raises(SqlGenError):
        get_dialect("postgres")


@pytest.mark.parametrize(
    ("attr", "path", "message"),
    [
        (
            {"name": "v", "type": "S", "source_table": "orders", "source_column": ["a", "b"]},
            "tables[0].attributes[1].source_column",
            "several source columns",
        ),
        (
            {
                "name": "v",
                "type": "S",
                "source_table": "orders",
                "source_column": "a",
                "transformation": {"type": "number-format", "format": "#,##0.00"},
            },
            "tables[0].attributes[1].transformation.format",
            "unsupported number format",
        ),
        (
            {
                "name": "v",
                "type": "S",
                "source_table": "orders",
                "source_column": "a",
                "transformation": {"type": "string-format", "format": "X#{users.id}"},
            },
            "tables[0].attributes[1].transformation.format",
            "placeholders name columns of the source row",
        ),
        (
            {"name": "_dm_x", "type": "S", "source_table": "orders", "source_column": "a"},
            "tables[0].attributes[1].name",
            "reserved prefix",
        ),
        (
            {"name": "pk", "type": "S", "source_table": "orders", "source_column": "a"},
            "tables[0].attributes[1].name",
            "differ only in case",
        ),
        (
            {"name": "v", "type": "S", "source_table": "users", "source_column": "email"},
            "tables[0].attributes[1].source_table",
            "has no join",
        ),
        (
            {
                "name": "v",
                "type": "S",
                "source_table": "orders",
                "source_column": "a",
                "calculation": {"type": "date-math", "expression": "a", "interval": "soon"},
            },
            "tables[0].attributes[1].calculation.interval",
            "unsupported interval",
        ),
    ],
)
def test_what_cannot_be_generated_is_an_error_with_path(
    attr: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises((ContractError, SqlGenError)) as err:
        generate_views(_contract([attr]))
    assert err.value.where["path"] == path
    assert message in str(err.value)


# -- file format and splitting ------------------------------------------------------------------------------


def test_render_file_header_and_sections() -> None:
    contract = load_contract(WORKSHOP)
    views = generate_views(contract, dialect="mariadb", accept=("C301",))
    text = views.render_file(generated_at="2024-01-01T00:00:00+00:00")
    assert text.startswith("-- Generated by dynamigrate")
    assert f"-- contract sha256: {contract.sha256}" in text
    assert "-- dialect: mariadb" in text
    assert "-- generated at: 2024-01-01T00:00:00+00:00" in text
    for table in contract.tables:
        assert f"-- DynamoDB table {table.name} -> view {table.view_name}" in text
    statements = split_statements(text)
    # the default view names stand bare (the workshop's tools read them as `VIEW <name> AS`)
    assert [s.split("VIEW ")[1].split(" AS")[0] for s in statements] == [t.view_name for t in contract.tables]


def test_split_statements_respects_quotes_and_comments() -> None:
    text = (
        "-- a comment; with a semicolon\n"
        "SELECT 'a;b', \"c;d\", `e;f` FROM t; # another; comment\n"
        "/* block; comment */ SELECT 'it''s; \\' still' ;\n"
        "SELECT 1 -- trailing; comment\n;\n;\n"
    )
    assert split_statements(text) == [
        "SELECT 'a;b', \"c;d\", `e;f` FROM t",
        "SELECT 'it''s; \\' still'",
        "SELECT 1",
    ]


# -- command line ---------------------------------------------------------------------------------------------


def test_cli_views_generate_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "views.sql"
    code = cli_main(
        ["views", "generate", str(WORKSHOP), "--table", "Categories", "-o", str(out), "--dialect", "mariadb"]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert len(split_statements(text)) == 1 and "ddb_categories_view" in text
    err = capsys.readouterr().err
    interpretations = [line for line in text.splitlines() if line.startswith("--   * ")]
    assert interpretations and "interpretation: " not in err
    assert f"{len(interpretations)} interpretation(s)" in err and str(out) in err
    # -v lists each of them, once
    assert cli_main(["views", "generate", str(WORKSHOP), "-t", "Categories", "-o", str(out), "-v"]) == 0
    err = capsys.readouterr().err
    for line in interpretations:
        assert err.count("interpretation: " + line.removeprefix("--   * ")) == 1


def test_cli_unknown_table_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["views", "generate", "-c", str(WORKSHOP), "-t", "Nope"]) == 2
    assert "no table named 'Nope'" in capsys.readouterr().err


def test_tool_script_keeps_the_workshop_interface(tmp_path: Path) -> None:
    out = tmp_path / "v.sql"
    argv = [
        sys.executable,
        str(ROOT / "tools" / "generate_mysql_views.py"),
        "--contract",
        str(WORKSHOP),
        "--all",
        "--output",
        str(out),
    ]
    # the workshop's Products.category_path is not certain: it stops, nothing is written
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "C301" not in proc.stdout and "--accept C301" in proc.stderr
    assert not out.exists()
    proc = subprocess.run([*argv, "--accept", "C301"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(split_statements(out.read_text(encoding="utf-8"))) == 3
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "generate_mysql_views.py"),
            "-c",
            str(WORKSHOP),
            "-t",
            "Products",
            "--accept",
            "C301",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "CREATE OR REPLACE VIEW ddb_products_view AS" in proc.stdout


def test_unqualified_join_column_needs_a_schema_to_be_resolved() -> None:
    contract = _contract([_fk("id = orders.user_id")])
    with pytest.raises(ContractError) as err:
        generate_views(contract)
    assert "unqualified column 'id'" in str(err.value)
    assert err.value.where["path"] == "tables[0].attributes[1].join.join_condition"
    schema = _schema(
        _table("orders", ("id",), ("id", "int"), ("user_id", "int")),
        _table("users", ("id",), ("id", "int"), ("email", "varchar")),
    )
    with pytest.raises(ContractError) as err:  # both tables have an id: still ambiguous
        generate_views(contract, schema=schema)
    assert "exists in users and orders" in str(err.value)
    views = generate_views(_contract([_fk("users.id = user_id")]), schema=schema)
    assert "ON `users`.`id` = `orders`.`user_id`" in views.statements[0].sql
    assert any("unqualified column 'user_id'" in i for i in views.interpretations)


def test_golden_dialects_differ_only_in_ordered_arrays_and_header() -> None:
    golden = ROOT / "tests" / "golden" / "views"
    mysql = (golden / "all_patterns.mysql.sql").read_text(encoding="utf-8").splitlines()
    mariadb = (golden / "all_patterns.mariadb.sql").read_text(encoding="utf-8").splitlines()
    assert len(mysql) == len(mariadb)
    differing = [(a, b) for a, b in zip(mysql, mariadb, strict=True) if a != b]
    assert differing
    for a, b in differing:
        ordered_array = "AS `_dm_arr`" in a and "JSON_ARRAYAGG" in b and "ORDER BY" in b
        assert a.startswith("-- dialect:") or ordered_array, (a, b)


def test_cli_all_and_table_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["views", "generate", "-c", str(WORKSHOP), "-a", "-t", "Users"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_conditional_else_value_forms() -> None:
    def conditional(else_value: str) -> dict[str, Any]:
        return {
            "name": "v",
            "type": "S",
            "source_table": "orders",
            "source_column": "user_id",
            "join": {
                "type": "conditional",
                "condition": "orders.total > 10",
                "target_table": "users",
                "join_condition": "users.id = orders.user_id",
                "select_column": "users.email",
                "else_value": else_value,
            },
        }

    sql = generate_views(_contract([conditional("n/a")])).statements[0].sql
    assert "ELSE 'n/a' END" in sql
    sql = generate_views(_contract([conditional("users.name")])).statements[0].sql
    assert "ELSE `users`.`name` END" in sql
    views = generate_views(_contract([conditional("'it''s'")]))
    assert "ELSE 'it''s' END" in views.statements[0].sql
    assert any("read as the text" in i for i in views.interpretations)
