"""Loading the workshop contract into the typed model, with and without the ``tables`` wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynamigrate.contract.load import load_contract, parse_contract, parse_contract_text
from dynamigrate.contract.validate import validate_contract
from dynamigrate.errors import ContractError

WORKSHOP = Path("/work/shared/reference/workshop-migrationContract.json")
if not WORKSHOP.exists():  # the repository's own copy, when the shared folder is not mounted
    WORKSHOP = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"


@pytest.fixture(scope="module")
def workshop_text() -> str:
    return WORKSHOP.read_text(encoding="utf-8")


def test_workshop_loads_with_wrapper(workshop_text: str) -> None:
    contract, problems = parse_contract_text(workshop_text, source=str(WORKSHOP))
    assert contract is not None
    assert problems.errors == []
    assert contract.wrapped
    assert [t.name for t in contract.tables] == ["Users", "Products", "Categories"]
    assert len(contract.sha256) == 64
    assert contract.source == str(WORKSHOP)


def test_workshop_loads_without_wrapper(workshop_text: str) -> None:
    bare = json.loads(workshop_text)["tables"]
    contract, problems = parse_contract(bare)
    assert contract is not None and problems.errors == []
    assert not contract.wrapped
    assert [t.name for t in contract.tables] == ["Users", "Products", "Categories"]
    assert contract.tables[0].path == "[0]"
    assert contract.tables[0].entities[1].attributes[0].path == "[0].entities[1].attributes[0]"


def test_workshop_model_contents(workshop_text: str) -> None:
    contract = load_contract(WORKSHOP)
    users = contract.table("users")  # case-insensitive lookup
    assert users.multi_entity
    assert users.view_name == "ddb_users_view"
    assert users.key_names == ("PK", "SK")
    assert users.index_key_names == ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK")
    assert [e.entity_type for e in users.entities] == ["USER", "CART", "ORDER"]
    assert [e.source_table for e in users.entities] == ["users", "shopping_carts", "orders"]
    assert users.entities[2].sk_template == "ORDER#{created_at}#{order_id}"
    # the view's columns: union of the entities' attributes, first-seen order
    assert users.attribute_names[:3] == ("PK", "SK", "username")
    assert "order_items" in users.attribute_names and "quantity" in users.attribute_names
    types = users.attribute_types()
    assert types["profile_data"] == "M" and types["is_seller"] == "BOOL" and types["quantity"] == "N"

    order_items = users.entities[2].attribute("order_items")
    assert order_items is not None and order_items.join is not None
    assert order_items.join.type == "json-construction"
    assert order_items.join.construction is not None
    assert order_items.join.construction.type == "array"
    assert order_items.join.construction.select_columns == (
        ("product_id", "product_id"),
        ("quantity", "quantity"),
        ("price_at_time", "price_at_time"),
    )
    assert order_items.derivation == "join:json-construction"
    assert order_items.denormalized is True
    assert order_items.path == "tables[0].entities[2].attributes[5]"

    sk = users.entities[2].attribute("SK")
    assert sk is not None and sk.transformation is not None
    assert sk.transformation.format == "ORDER#{created_at}#{id}"

    products = contract.table("Products")
    assert not products.multi_entity
    assert len(products.entities) == 1
    assert products.entities[0].entity_type == "products"  # single-entity: entity_type = source table
    cat_path = products.entities[0].attribute("category_path")
    assert cat_path is not None and cat_path.join is not None
    assert (cat_path.join.type, cat_path.join.join_alias, cat_path.join.null_value) == (
        "self-join",
        "cat_hierarchy",
        "",
    )
    assert [g.index_name for g in products.gsis] == ["GSI1", "GSI2"]
    assert products.estimated_item_size_bytes == 4096

    categories = contract.table("Categories")
    level = categories.entities[0].attribute("level")
    assert level is not None and level.calculation is not None
    assert (level.calculation.type, level.calculation.operation) == ("aggregate", "COUNT")
    pk = categories.entities[0].attribute("PK")
    assert pk is not None and pk.join is not None
    assert (pk.join.type, pk.join.condition, pk.join.else_value) == (
        "conditional",
        "parent_id IS NULL",
        "parent.name",
    )


def test_workshop_validates_without_errors() -> None:
    problems = validate_contract(load_contract(WORKSHOP))
    assert problems.errors == []
    # the expected warnings: entities outside some GSIs, and PKs from a foreign-key join
    assert {p.code for p in problems.warnings} == {"C112", "C108"}


def test_load_contract_raises_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "c.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "table": "T1",
                    "type": "single-entity",
                    "source_table": "t",
                    "pk": "PK",
                    "attributes": [{"name": "PK"}],
                },
                {"table": "x", "type": "single-entity", "source_table": "t", "pk": "PK", "attributes": []},
            ]
        )
    )
    with pytest.raises(ContractError) as info:
        load_contract(bad)
    paths = [p.path for p in info.value.problems]
    assert "[0].attributes[0].type" in paths
    assert "[1].table" in paths
    assert "[1].attributes" in paths


def test_invalid_json_is_reported_with_position() -> None:
    contract, problems = parse_contract_text('{"tables": [ {"table": "T",} ]}')
    assert contract is None
    (p,) = problems
    assert p.path == "$" and "line 1" in p.message and p.fix


def test_missing_file_is_a_contract_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="not found"):
        load_contract(tmp_path / "missing.json")
