"""Broken contracts: every mistake is reported with its exact JSON path, a message and a fix.

Each case starts from a valid contract (BASE), breaks one thing, and asserts the problem reported at
the JSON path of the broken element (structure problems from the loader, semantic ones from
validate_contract).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.problems import ProblemList
from dynamigrate.contract.validate import check_contract, date_format_unknown_tokens, validate_contract

BASE: dict[str, Any] = {
    "tables": [
        {
            "table": "Users",
            "type": "multi-entity",
            "source_table": "users",
            "pk": "PK",
            "sk": "SK",
            "gsis": [{"index_name": "GSI1", "pk": "GSI1PK", "sk": "GSI1SK", "projection": "ALL"}],
            "entities": [
                {
                    "entity_type": "USER",
                    "source_table": "users",
                    "pk_template": "USER#{id}",
                    "sk_template": "#META",
                    "attributes": [
                        {
                            "name": "PK",
                            "type": "S",
                            "source_table": "users",
                            "source_column": "id",
                            "transformation": {"type": "string-format", "format": "USER#{id}"},
                        },
                        {
                            "name": "SK",
                            "type": "S",
                            "source_table": "users",
                            "source_column": "id",
                            "transformation": {"type": "string-format", "format": "#META"},
                        },
                        {"name": "email", "type": "S", "source_table": "users", "source_column": "email"},
                        {"name": "GSI1PK", "type": "S", "source_table": "users", "source_column": "email"},
                        {"name": "GSI1SK", "type": "S", "source_table": "users", "source_column": "username"},
                    ],
                },
                {
                    "entity_type": "ORDER",
                    "source_table": "orders",
                    "pk_template": "USER#{user_id}",
                    "sk_template": "ORDER#{created_at}#{id}",
                    "attributes": [
                        {
                            "name": "PK",
                            "type": "S",
                            "source_table": "orders",
                            "source_column": "user_id",
                            "transformation": {"type": "string-format", "format": "USER#{user_id}"},
                        },
                        {
                            "name": "SK",
                            "type": "S",
                            "source_table": "orders",
                            "source_column": "id",
                            "transformation": {"type": "string-format", "format": "ORDER#{created_at}#{id}"},
                        },
                        {
                            "name": "total",
                            "type": "N",
                            "source_table": "orders",
                            "source_column": "total_amount",
                        },
                        {
                            "name": "items",
                            "type": "L",
                            "source_table": "orders",
                            "source_column": "id",
                            "join": {
                                "type": "json-construction",
                                "target_table": "order_items",
                                "join_condition": "order_items.order_id = orders.id",
                                "construction": {
                                    "type": "array",
                                    "select_columns": {"product_id": "product_id", "quantity": "quantity"},
                                },
                            },
                        },
                        {
                            "name": "user_email",
                            "type": "S",
                            "source_table": "orders",
                            "source_column": "user_id",
                            "join": {
                                "type": "foreign-key",
                                "target_table": "users",
                                "join_condition": "users.id = orders.user_id",
                                "select_column": "users.email",
                            },
                        },
                        {
                            "name": "item_count",
                            "type": "N",
                            "source_table": "orders",
                            "source_column": "id",
                            "calculation": {
                                "type": "aggregate",
                                "target_table": "order_items",
                                "join_condition": "order_items.order_id = orders.id",
                                "operation": "COUNT",
                                "select_column": "order_items.id",
                            },
                        },
                    ],
                },
            ],
        },
        {
            "table": "Products",
            "type": "single-entity",
            "source_table": "products",
            "pk": "PK",
            "sk": None,
            "gsis": [
                {
                    "index_name": "ByCategory",
                    "pk": "GSI1PK",
                    "projection": "INCLUDE",
                    "projected_attributes": ["name", "price"],
                }
            ],
            "attributes": [
                {
                    "name": "PK",
                    "type": "S",
                    "source_column": "id",
                    "transformation": {"type": "number-format", "format": "000000"},
                },
                {"name": "name", "type": "S", "source_column": "name"},
                {"name": "price", "type": "N", "source_column": "price"},
                {
                    "name": "month",
                    "type": "S",
                    "source_column": "created_at",
                    "transformation": {"type": "date-format", "format": "YYYY-MM"},
                },
                {
                    "name": "attrs",
                    "type": "M",
                    "source_column": "attributes_json",
                    "transformation": {"type": "json-parse"},
                },
                {"name": "is_active", "type": "BOOL", "source_column": "is_active"},
                {"name": "GSI1PK", "type": "S", "source_column": "category_id"},
            ],
        },
    ]
}

USER = "tables[0].entities[0]"
ORDER = "tables[0].entities[1]"
PROD = "tables[1]"


def check(data: Any) -> ProblemList:
    contract, problems = parse_contract(data)
    if contract is not None:
        problems.extend(validate_contract(contract))
    return problems


def _attr(data: dict[str, Any], where: str, i: int) -> dict[str, Any]:
    if where == "user":
        return data["tables"][0]["entities"][0]["attributes"][i]
    if where == "order":
        return data["tables"][0]["entities"][1]["attributes"][i]
    return data["tables"][1]["attributes"][i]


def _set(where: str, i: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        _attr(data, where, i).update(fields)

    return mutate


def _del(where: str, i: int, key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        del _attr(data, where, i)[key]

    return mutate


def _many_gsis(data: dict[str, Any]) -> None:
    data["tables"][1]["gsis"] = [
        {"index_name": f"G{i}", "pk": "GSI1PK", "projection": "KEYS_ONLY"} for i in range(21)
    ]


def _drop_entities(data: dict[str, Any]) -> None:
    del data["tables"][0]["entities"]


def _drop_pk_attr(data: dict[str, Any]) -> None:
    del data["tables"][0]["entities"][1]["attributes"][0]


def _unwrap(data: dict[str, Any]) -> Any:
    return data["tables"]


def _dup_attr(data: dict[str, Any]) -> None:
    data["tables"][1]["attributes"].append({"name": "price", "type": "N", "source_column": "price"})


def _email_as_number(data: dict[str, Any]) -> None:
    data["tables"][0]["entities"][1]["attributes"].append(
        {"name": "email", "type": "N", "source_table": "orders", "source_column": "id"}
    )


def _pk_is_sk(data: dict[str, Any]) -> None:
    data["tables"][0]["sk"] = "PK"


def _wrapper(data: dict[str, Any]) -> None:
    data["table_list"] = data.pop("tables")


def _gsi(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["tables"][0]["gsis"][0].update(fields)

    return mutate


def _prod_gsi(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["tables"][1]["gsis"][0].update(fields)

    return mutate


def _table_field(i: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["tables"][i].update(fields)

    return mutate


FK_JOIN = {
    "type": "foreign-key",
    "target_table": "users",
    "join_condition": "users.id = orders.user_id",
    "select_column": "users.is_seller",
}

# (id, mutation, JSON path, message fragment, severity)
CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str, str, str]] = [
    ("no-tables-wrapper", _wrapper, "$", "missing 'tables'", "error"),
    (
        "unknown-attribute-type",
        _set("user", 2, type="STRING"),
        f"{USER}.attributes[2].type",
        "unknown attribute type 'STRING'",
        "error",
    ),
    (
        "unknown-join-type",
        _set("order", 4, join={**FK_JOIN, "type": "inner"}),
        f"{ORDER}.attributes[4].join.type",
        "unknown join type 'inner'",
        "error",
    ),
    (
        "unknown-calculation-type",
        _set("order", 5, calculation={"type": "median"}),
        f"{ORDER}.attributes[5].calculation.type",
        "unknown calculation type 'median'",
        "error",
    ),
    (
        "unknown-join-field",
        _set("order", 4, join={**FK_JOIN, "selectColumn": "users.email"}),
        f"{ORDER}.attributes[4].join.selectColumn",
        "unknown field 'selectColumn'",
        "error",
    ),
    (
        "join-missing-select-column",
        _set("order", 4, join={k: v for k, v in FK_JOIN.items() if k != "select_column"}),
        f"{ORDER}.attributes[4].join.select_column",
        "needs 'select_column'",
        "error",
    ),
    (
        "join-and-transformation",
        _set("order", 4, transformation={"type": "string-format", "format": "x"}),
        f"{ORDER}.attributes[4]",
        "at most one of join/calculation/transformation",
        "error",
    ),
    (
        "pk-missing-in-entity",
        _drop_pk_attr,
        f"{ORDER}.attributes",
        "partition key 'PK' is not produced by entity 'ORDER'",
        "error",
    ),
    (
        "key-type-not-scalar",
        _set("user", 0, type="BOOL"),
        f"{USER}.attributes[0].type",
        "key attributes must be S, N or B",
        "error",
    ),
    (
        "key-type-differs",
        _set("order", 1, type="N", transformation={"type": "string-format", "format": "{id}"}),
        f"{ORDER}.attributes[1].type",
        "type differs between entities",
        "error",
    ),
    (
        "gsi-key-undefined",
        _gsi(pk="GSI9PK"),
        "tables[0].gsis[0].pk",
        "'GSI9PK', which no entity produces",
        "error",
    ),
    (
        "gsi-key-not-in-entity",
        lambda d: None,
        "tables[0].gsis[0].pk",
        "entity 'ORDER' does not produce 'GSI1PK' and 'GSI1SK'",
        "warning",
    ),
    (
        "include-projection-unknown-attribute",
        _prod_gsi(projected_attributes=["name", "prize"]),
        f"{PROD}.gsis[0].projected_attributes[1]",
        "projected attribute 'prize'",
        "error",
    ),
    ("too-many-gsis", _many_gsis, f"{PROD}.gsis", "DynamoDB allows 20 per table", "error"),
    (
        "reserved-prefix",
        _set("prod", 1, name="_dm_name"),
        f"{PROD}.attributes[1].name",
        "reserved for dynamigrate",
        "error",
    ),
    (
        "placeholder-unclosed",
        _set("user", 0, transformation={"type": "string-format", "format": "USER#{id"}),
        f"{USER}.attributes[0].transformation.format",
        "'{' without a closing '}'",
        "error",
    ),
    (
        "placeholder-empty",
        _set("user", 0, transformation={"type": "string-format", "format": "USER#{}"}),
        f"{USER}.attributes[0].transformation.format",
        "empty placeholder",
        "error",
    ),
    (
        "template-placeholder-not-a-name",
        _set("user", 0, transformation={"type": "template", "template": "USER#{users.id + 1}"}),
        f"{USER}.attributes[0].transformation.template",
        "is not a column name",
        "error",
    ),
    (
        "placeholder-of-other-table",
        _set("order", 1, transformation={"type": "string-format", "format": "ORDER#{users.id}"}),
        f"{ORDER}.attributes[1].transformation.format",
        "placeholder names table 'users'",
        "error",
    ),
    (
        "date-format-mysql-specifiers",
        _set("prod", 3, transformation={"type": "date-format", "format": "%Y-%m"}),
        f"{PROD}.attributes[3].transformation.format",
        "unknown date-format token(s) '%Y', '%m'",
        "error",
    ),
    (
        "date-format-unknown-token",
        _set("prod", 3, transformation={"type": "date-format", "format": "yyyy-MM"}),
        f"{PROD}.attributes[3].transformation.format",
        "unknown date-format token(s) 'yyyy'",
        "error",
    ),
    (
        "number-format-invalid",
        _set("prod", 0, transformation={"type": "number-format", "format": "#,##0"}),
        f"{PROD}.attributes[0].transformation.format",
        "invalid number-format pattern '#,##0'",
        "error",
    ),
    (
        "json-parse-on-string",
        _set("prod", 4, type="S"),
        f"{PROD}.attributes[4].type",
        "json-parse yields a document",
        "warning",
    ),
    (
        "json-construction-array-as-map",
        _set("order", 3, type="M"),
        f"{ORDER}.attributes[3].type",
        "json-construction of type array gives a JSON array",
        "error",
    ),
    (
        "count-into-bool",
        _set("order", 5, type="BOOL"),
        f"{ORDER}.attributes[5].type",
        "COUNT gives a number",
        "error",
    ),
    (
        "count-into-string",
        _set("order", 5, type="S"),
        f"{ORDER}.attributes[5].type",
        "stored as text",
        "warning",
    ),
    (
        "bool-from-join",
        _set("order", 4, type="BOOL", join=FK_JOIN),
        f"{ORDER}.attributes[4].join",
        "BOOL from a foreign-key join",
        "warning",
    ),
    (
        "same-name-different-types",
        _email_as_number,
        f"{ORDER}.attributes[6].type",
        "one view column cannot carry both types",
        "error",
    ),
    (
        "missing-source-column",
        _del("prod", 1, "source_column"),
        f"{PROD}.attributes[1].source_column",
        "missing 'source_column'",
        "error",
    ),
    ("duplicate-attribute", _dup_attr, f"{PROD}.attributes[7].name", "duplicate attribute 'price'", "error"),
    ("multi-entity-without-entities", _drop_entities, "tables[0].entities", "missing 'entities'", "error"),
    (
        "unknown-aggregate-operation",
        _set(
            "order",
            5,
            calculation={
                "type": "aggregate",
                "target_table": "order_items",
                "join_condition": "order_items.order_id = orders.id",
                "operation": "MEDIAN",
                "select_column": "order_items.id",
            },
        ),
        f"{ORDER}.attributes[5].calculation.operation",
        "unknown aggregate operation 'MEDIAN'",
        "error",
    ),
    (
        "invalid-table-name",
        _table_field(1, table="ab"),
        f"{PROD}.table",
        "not a valid DynamoDB table name",
        "error",
    ),
    (
        "constant-key",
        _set("prod", 0, transformation={"type": "string-format", "format": "#META"}),
        f"{PROD}.attributes",
        "collapse into one item",
        "error",
    ),
    (
        "number-with-text-format",
        _set("order", 2, transformation={"type": "string-format", "format": "EUR {total_amount}"}),
        f"{ORDER}.attributes[2].type",
        "the value is not a number",
        "error",
    ),
    (
        "unknown-projection",
        _prod_gsi(projection="SOME"),
        f"{PROD}.gsis[0].projection",
        "unknown projection 'SOME'",
        "error",
    ),
    (
        "multi-column-without-conditions",
        _set(
            "order", 4, join={"type": "multi-column", "target_table": "users", "select_column": "users.email"}
        ),
        f"{ORDER}.attributes[4].join.join_conditions",
        "needs 'join_conditions'",
        "error",
    ),
    (
        "static-number-not-numeric",
        _set("order", 2, transformation={"type": "static", "value": "n/a"}),
        f"{ORDER}.attributes[2].transformation.value",
        "is not a number",
        "error",
    ),
    (
        "column-of-other-table-without-join",
        _set("order", 2, source_table="users"),
        f"{ORDER}.attributes[2].source_table",
        "reads from 'users' but the rows of entity 'ORDER' come from 'orders'",
        "error",
    ),
    ("pk-equals-sk", _pk_is_sk, "tables[0].sk", "is the partition key too", "error"),
    (
        "chain-step-incomplete",
        _set(
            "order",
            4,
            join={
                "type": "chain",
                "joins": [{"target_table": "users", "join_condition": "users.id = orders.user_id"}],
            },
        ),
        f"{ORDER}.attributes[4].join.joins[0].select_column",
        "needs 'select_column'",
        "error",
    ),
    (
        "empty-join-condition",
        _set("order", 4, join={**FK_JOIN, "join_condition": "  "}),
        f"{ORDER}.attributes[4].join.join_condition",
        "must not be empty",
        "error",
    ),
    (
        "json-construction-bad-limit",
        _set(
            "order",
            3,
            join={
                "type": "json-construction",
                "target_table": "order_items",
                "join_condition": "order_items.order_id = orders.id",
                "construction": {"type": "array", "select_columns": {"q": "quantity"}, "limit": 0},
            },
        ),
        f"{ORDER}.attributes[3].join.construction.limit",
        "positive integer",
        "error",
    ),
    (
        "projected-attributes-not-a-list",
        _prod_gsi(projected_attributes="name,price"),
        f"{PROD}.gsis[0].projected_attributes",
        "must be a list of attribute names",
        "error",
    ),
    (
        "gsi-same-pk-and-sk",
        _gsi(sk="GSI1PK"),
        "tables[0].gsis[0].sk",
        "as both partition and sort key",
        "error",
    ),
    (
        "empty-source-column",
        _set("prod", 1, source_column=" "),
        f"{PROD}.attributes[1].source_column",
        "'source_column' is empty",
        "error",
    ),
    (
        "denormalized-not-boolean",
        _set("prod", 1, denormalized="false"),
        f"{PROD}.attributes[1].denormalized",
        "should be true or false",
        "warning",
    ),
    (
        "construction-empty-json-key",
        _set(
            "order",
            3,
            join={
                "type": "json-construction",
                "target_table": "order_items",
                "join_condition": "order_items.order_id = orders.id",
                "construction": {"type": "array", "select_columns": {"": "quantity"}},
            },
        ),
        f"{ORDER}.attributes[3].join.construction.select_columns",
        "DynamoDB maps cannot have empty keys",
        "error",
    ),
    (
        "invalid-index-name",
        _gsi(index_name="G1"),
        "tables[0].gsis[0].index_name",
        "not a valid DynamoDB index name: creating the table will fail",
        "warning",
    ),
    (
        "static-bool-not-boolean",
        _set("prod", 5, transformation={"type": "static", "value": "maybe"}),
        f"{PROD}.attributes[5].transformation.value",
        "is not a boolean",
        "error",
    ),
]


def test_base_contract_has_no_errors() -> None:
    problems = check(copy.deepcopy(BASE))
    assert problems.errors == []
    # the one expected warning: ORDER items are not in GSI1
    assert [p.path for p in problems.warnings] == ["tables[0].gsis[0].pk"]


def test_at_least_twenty_distinct_mistakes() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize(
    ("mutate", "path", "fragment", "severity"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_contract_reported_at_path(
    mutate: Callable[[dict[str, Any]], Any], path: str, fragment: str, severity: str
) -> None:
    data = copy.deepcopy(BASE)
    replaced = mutate(data)
    problems = check(replaced if replaced is not None else data)
    at_path = [p for p in problems.at(path) if p.severity == severity]
    assert at_path, f"nothing reported at {path}; got:\n" + "\n".join(str(p) for p in problems)
    assert any(fragment in p.message for p in at_path), "\n".join(str(p) for p in at_path)
    # every error says how to fix it
    assert all(p.fix for p in problems.errors), [str(p) for p in problems.errors if not p.fix]


def test_unwrapped_contract_paths_start_with_index() -> None:
    data = copy.deepcopy(BASE)["tables"]
    data[1]["attributes"][5]["type"] = "NUMBER"
    problems = check(data)
    assert [p.path for p in problems.errors] == ["[1].attributes[5].type"]
    assert problems.errors[0].fix == "did you mean 'N'?"


def test_all_problems_collected_at_once() -> None:
    data = copy.deepcopy(BASE)
    _set("user", 2, type="STRING")(data)
    _set("prod", 1, name="_dm_name")(data)
    _gsi(pk="GSI9PK")(data)
    problems = check(data)
    paths = {p.path for p in problems.errors}
    assert {f"{USER}.attributes[2].type", f"{PROD}.attributes[1].name", "tables[0].gsis[0].pk"} <= paths


def test_semantic_problems_carry_codes() -> None:
    data = copy.deepcopy(BASE)
    _set("prod", 1, name="_dm_name")(data)
    problems = check(data)
    (p,) = problems.at(f"{PROD}.attributes[1].name")
    assert p.code == "C106"
    assert p.to_dict()["code"] == "C106"


def test_structure_problems_get_the_structure_code() -> None:
    data = copy.deepcopy(BASE)
    _set("user", 2, type="STRING")(data)
    (p,) = check(data).at(f"{USER}.attributes[2].type")
    assert p.to_dict()["code"] == "C000"


def test_check_contract_without_schema_is_validate() -> None:
    contract, _ = parse_contract(copy.deepcopy(BASE))
    assert contract is not None
    assert check_contract(contract) == validate_contract(contract)


def test_date_format_mysql_style_gets_the_token_equivalent() -> None:
    data = copy.deepcopy(BASE)
    _set("prod", 3, transformation={"type": "date-format", "format": "%Y-%m"})(data)
    (p,) = check(data).at(f"{PROD}.attributes[3].transformation.format")
    assert p.fix is not None and 'write "YYYY-MM"' in p.fix


@pytest.mark.parametrize(
    ("fmt", "names", "error"),
    [
        ("ORDER#{created_at}#{id}", ["created_at", "id"], None),
        ("{{literal}}#{id}", ["id"], None),
        ("{orders.id}", ["id"], None),
        ("#META", [], None),
        ("A}B", [], "'}' without a matching '{'"),
        ("{a{b}}", [], "nested '{'"),
    ],
)
def test_placeholder_scanner(fmt: str, names: list[str], error: str | None) -> None:
    from dynamigrate.contract.validate import placeholder_syntax_error, placeholders

    err = placeholder_syntax_error(fmt)
    if error is None:
        assert err is None and placeholders(fmt) == names
    else:
        assert err is not None and error in err


@pytest.mark.parametrize(
    ("fmt", "bad"),
    [
        ("YYYY-MM-DD", []),
        ("YYYY-MM-DDTHH:mm:ss", []),
        ("YYYYMMDD", []),
        ("%Y-%m-%d %H:%i:%s", ["%Y", "%m", "%d", "%H", "%i", "%s"]),
        ("yyyy-MM", ["yyyy"]),
        ("YYYY-MM-DD hh:mm", ["hh"]),
        ("YYYY-%Q", ["%Q"]),
    ],
)
def test_date_format_tokens(fmt: str, bad: list[str]) -> None:
    assert date_format_unknown_tokens(fmt) == bad
