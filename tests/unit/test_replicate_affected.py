"""Which items a row change affects: the contract's join conditions turned around (pure SQL text), and
the server checks of replicate (binlog off, not ROW, bad position) with their fixes."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.errors import ConfigError, SourceError
from dynamigrate.replicate.affected import DepLink, Step, dependencies, refs, related_queries, substitute
from dynamigrate.replicate.position import Position, check_server


def load_contract_data(data: Any) -> Any:
    contract, problems = parse_contract(data)
    assert contract is not None, problems
    return contract


def _contract(
    attributes: list[dict[str, Any]], source: str = "products", extra: list[Any] | None = None
) -> Any:
    base = [
        {"name": "PK", "type": "S", "source_table": source, "source_column": "id"},
        *attributes,
    ]
    return load_contract_data(
        {
            "tables": [
                {
                    "table": "T",
                    "type": "single-entity",
                    "source_table": source,
                    "pk": "PK",
                    "attributes": base,
                },
                *(extra or []),
            ]
        }
    )


def test_refs_skip_string_literals_and_read_backticks() -> None:
    sql = "`cat path`.id = products.category_id AND products.note <> 'a.b' AND x.`we``ird` = 1.5"
    assert refs(sql) == [
        ("cat path", "id"),
        ("products", "category_id"),
        ("products", "note"),
        ("x", "we``ird"),
    ]


def test_substitute_replaces_only_the_changed_table_and_doubles_percent() -> None:
    sql, params = substitute(
        "categories.id = products.category_id AND categories.name LIKE '100%' AND Categories.flag",
        {"categories"},
        {"ID": 7, "name": "Lamp ✨", "flag": None},
    )
    assert sql == "%s = products.category_id AND %s LIKE '100%%' AND %s"
    assert params == [7, "Lamp ✨", None]


def test_substitute_one_occurrence_of_a_self_reference() -> None:
    cond = "categories.id = categories.parent_id"
    first = substitute(cond, {"categories"}, {"id": 3, "parent_id": 1}, only=0)
    second = substitute(cond, {"categories"}, {"id": 3, "parent_id": 1}, only=1)
    assert first == ("%s = categories.parent_id", [3])
    assert second == ("categories.id = %s", [1])


def test_set_values_become_the_server_text() -> None:
    assert substitute("t.s = x.s", {"t"}, {"s": {"b", "a"}}) == ("%s = x.s", ["a,b"])


def test_dependencies_of_every_join_kind() -> None:
    contract = _contract(
        [
            {
                "name": "category_name",
                "type": "S",
                "source_table": "products",
                "source_column": "category_id",
                "join": {
                    "type": "foreign-key",
                    "target_table": "categories",
                    "join_condition": "categories.id = products.category_id",
                    "select_column": "categories.name",
                },
            },
            {
                "name": "n_items",
                "type": "N",
                "source_table": "products",
                "source_column": "id",
                "calculation": {
                    "type": "aggregate",
                    "target_table": "order_items",
                    "join_condition": "order_items.product_id = products.id",
                    "operation": "COUNT",
                    "select_column": "order_items.id",
                },
            },
            {
                "name": "seller_country",
                "type": "S",
                "source_table": "products",
                "source_column": "seller_id",
                "join": {
                    "type": "chain",
                    "joins": [
                        {
                            "target_table": "users",
                            "join_condition": "users.id = products.seller_id",
                            "select_column": "users.address_id",
                        },
                        {
                            "target_table": "addresses",
                            "join_condition": "addresses.id = users.address_id",
                            "select_column": "addresses.country",
                        },
                    ],
                },
            },
        ]
    )
    deps = dependencies(contract)
    assert [o.entity.source_table for o in deps.own["products"]] == ["products"]
    assert {t: [d.attribute for d in ds] for t, ds in deps.deps.items()} == {
        "categories": ["category_name"],
        "order_items": ["n_items"],
        "users": ["seller_country"],
        "addresses": ["seller_country"],
    }
    # a chain's second step joins the first step's table
    (addr,) = deps.deps["addresses"]
    ((sql, params),) = related_queries(addr, ("id",), {"id": 9, "country": "FR"})
    assert sql == (
        "SELECT DISTINCT `products`.`id` FROM `products` JOIN `users` ON users.id = products.seller_id "
        "WHERE %s = users.address_id"
    )
    assert params == [9]
    (agg,) = deps.deps["order_items"]
    ((sql, params),) = related_queries(agg, ("id",), {"id": 5, "product_id": 42})
    assert sql.endswith("WHERE %s = products.id") and params == [42]


def test_key_attributes_fed_by_a_join_are_marked() -> None:
    contract = load_contract_data(
        {
            "tables": [
                {
                    "table": "Carts",
                    "type": "single-entity",
                    "source_table": "carts",
                    "pk": "PK",
                    "sk": "SK",
                    "attributes": [
                        {
                            "name": "PK",
                            "type": "S",
                            "source_table": "carts",
                            "source_column": "user_id",
                            "join": {
                                "type": "foreign-key",
                                "target_table": "users",
                                "join_condition": "users.id = carts.user_id",
                                "select_column": "users.email",
                            },
                        },
                        {"name": "SK", "type": "S", "source_table": "carts", "source_column": "id"},
                        {
                            "name": "label",
                            "type": "S",
                            "source_table": "carts",
                            "source_column": "tag",
                            "join": {
                                "type": "foreign-key",
                                "target_table": "tags",
                                "join_condition": "tags.code = carts.tag",
                                "select_column": "tags.label",
                            },
                        },
                    ],
                }
            ]
        }
    )
    deps = dependencies(contract)
    assert [d.key_attribute for d in deps.deps["users"]] == [True]
    assert [d.key_attribute for d in deps.deps["tags"]] == [False]


def test_self_reference_named_twice_gives_both_readings() -> None:
    contract = _contract([], source="categories")
    entity = contract.tables[0].entities[0]
    link = DepLink(
        contract.tables[0],
        entity,
        "parent_name",
        (Step("categories", "categories", "categories.id = categories.parent_id"),),
        True,
    )
    queries = related_queries(link, ("id",), {"id": 3, "parent_id": 1})
    assert queries == [
        ("SELECT DISTINCT `categories`.`id` FROM `categories` WHERE %s = categories.parent_id", [3]),
        ("SELECT DISTINCT `categories`.`id` FROM `categories` WHERE categories.id = %s", [1]),
    ]


def test_declared_and_undeclared_aliases_name_the_changed_row() -> None:
    contract = _contract([], source="categories")
    entity = contract.tables[0].entities[0]
    declared = DepLink(
        contract.tables[0],
        entity,
        "path",
        (Step("categories", "cat_path", "cat_path.id = categories.parent_id"),),
        False,
    )
    assert related_queries(declared, ("id",), {"id": 3}) == [
        ("SELECT DISTINCT `categories`.`id` FROM `categories` WHERE %s = categories.parent_id", [3])
    ]
    undeclared = DepLink(
        contract.tables[0],
        entity,
        "p",
        (Step("categories", "categories", "parent.id = categories.parent_id"),),
        False,
    )
    # 'categories' is the source row here; 'parent' is no table of the query: it is the changed row
    assert related_queries(undeclared, ("id",), {"id": 3}) == [
        ("SELECT DISTINCT `categories`.`id` FROM `categories` WHERE %s = categories.parent_id", [3])
    ]


class _Cursor:
    def __init__(self, answers: dict[str, list[tuple[Any, ...]]]):
        self.answers = answers
        self.rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Any = None) -> None:
        for prefix, rows in self.answers.items():
            if sql.startswith(prefix):
                self.rows = rows
                return
        raise AssertionError(sql)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class _Conn:
    def __init__(self, variables: dict[str, str], logs: list[str]):
        self.answers = {
            "SHOW GLOBAL VARIABLES": list(variables.items()),
            "SHOW MASTER STATUS": [(logs[-1], 500, "", "")] if logs else [],
            "SHOW BINARY LOGS": [(name, 1000) for name in logs],
        }

    def cursor(self) -> _Cursor:
        return _Cursor(self.answers)


GOOD = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({**GOOD, "log_bin": "OFF"}, ["binary log is off", "log_bin", "binlog_format=ROW"]),
        ({**GOOD, "binlog_format": "MIXED"}, ["binlog_format is MIXED", "SET GLOBAL binlog_format = 'ROW'"]),
        ({**GOOD, "binlog_row_image": "MINIMAL"}, ["binlog_row_image is MINIMAL", "FULL"]),
        ({**GOOD, "binlog_row_metadata": "NO_LOG"}, ["binlog_row_metadata is NO_LOG", "FULL"]),
    ],
)
def test_server_settings_that_block_replicate_say_the_fix(
    variables: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(SourceError) as err:
        check_server(_Conn(variables, ["bin.000002"]), Position("bin.000002", 4))
    text = str(err.value)
    for word in words:
        assert word in text, text


def test_a_purged_start_says_a_new_load_is_needed() -> None:
    with pytest.raises(SourceError) as err:
        check_server(_Conn(GOOD, ["bin.000007", "bin.000008"]), Position("bin.000003", 1181))
    text = str(err.value)
    assert "bin.000003" in text and "purged" in text and "oldest kept: bin.000007" in text
    assert "new full migrate" in text


def test_head_and_position_order() -> None:
    top = check_server(_Conn(GOOD, ["bin.000002", "bin.000003"]), Position("bin.000002", 4))
    assert top == Position("bin.000003", 500)
    assert Position("bin.000002", 99999) < Position("bin.000003", 4)
    assert Position.parse("mariadb-bin.000002:1181") == Position("mariadb-bin.000002", 1181)
    with pytest.raises(ConfigError) as err:
        Position.parse("1181")
    assert "FILE:POS" in str(err.value)
