"""Two readings of a contract on real MariaDB: generated view rows encoded by the ETL's encoder, and the
reference evaluator's items. ``differences`` returns what tells them apart (empty: they agree).

Rows are matched per entity as multisets: items by their canonical form (numbers exact, sets as sets,
JSON text of json-constructions as documents), rejected rows by their reject code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from dynamigrate.contract.model import ENTITY_COLUMN, Contract
from dynamigrate.evaluate import Evaluator, json_text_attributes
from dynamigrate.evaluate.compare import _json_canonical, canonical
from dynamigrate.evaluate.values import parse_json
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views
from dynamigrate.target.encode import ItemEncoder


def _canon_item(item: dict[str, Any], json_attrs: frozenset[str]) -> str:
    out = {}
    for name, value in item.items():
        if name in json_attrs and "S" in value:
            out[name] = ("J", _json_canonical(parse_json(value["S"])))
        else:
            out[name] = canonical(value)
    return json.dumps(out, sort_keys=True, default=repr, ensure_ascii=False)


def apply_views(conn: Any, contract: Contract, database: str) -> None:
    views = generate_views(contract, dialect="mariadb", schema=introspect(conn, database))
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)


def view_items(
    conn: Any, contract: Contract, table_name: str
) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """Per entity: (canonical items, reject codes) from the view, through the ETL's encoder."""
    table = contract.table(table_name)
    enc = ItemEncoder(table, marker_attribute=None)
    out: dict[str, tuple[Counter[str], Counter[str]]] = {
        e.entity_type: (Counter(), Counter()) for e in table.entities
    }
    json_attrs = {e.entity_type: json_text_attributes(e) for e in table.entities}
    with conn.cursor(__import__("pymysql").cursors.DictCursor) as cur:
        cur.execute(f"SELECT * FROM `{table.view_name}`")
        for row in cur.fetchall():
            entity = str(row[ENTITY_COLUMN])
            e = enc.encode(row)
            items, rejects = out[entity]
            if e.item is not None:
                items[_canon_item(e.item, json_attrs[entity])] += 1
            else:
                rejects[str(e.reject_code)] += 1
    return out


def evaluator_items(
    conn_factory: Callable[[], Any], contract: Contract, table_name: str, chunk_rows: int = 7
) -> dict[str, tuple[Counter[str], Counter[str]]]:
    table = contract.table(table_name)
    out: dict[str, tuple[Counter[str], Counter[str]]] = {}
    with Evaluator(conn_factory, contract, table) as ev:
        for e in table.entities:
            items: Counter[str] = Counter()
            rejects: Counter[str] = Counter()
            json_attrs = json_text_attributes(e)
            by_key: dict[str, Any] = {}
            for r in ev.iter_items(e, chunk_rows=chunk_rows):
                by_key[repr(r.source_key)] = r
                if r.item is not None:
                    items[_canon_item(r.item, json_attrs)] += 1
                else:
                    rejects[str(r.code)] += 1
            out[e.entity_type] = (items, rejects)
            # the lookup by key gives the same rows as the full pass (every key shape)
            keys = [r.source_key for r in list(by_key.values())[:4]]
            again = ev.items_for_source_keys(e, keys)
            assert [r.source_key for r in again] == keys, (keys, [r.source_key for r in again])
            for r in again:
                first = by_key[repr(r.source_key)]
                assert (r.item, r.code) == (first.item, first.code), (r, first)
            assert ev.count_source(e) == sum(items.values()) + sum(rejects.values())
    return out


def differences(
    conn: Any, conn_factory: Callable[[], Any], contract: Contract, table_name: str, chunk_rows: int = 7
) -> list[str]:
    view = view_items(conn, contract, table_name)
    ev = evaluator_items(conn_factory, contract, table_name, chunk_rows)
    problems: list[str] = []
    for entity in view:
        v_items, v_rej = view[entity]
        e_items, e_rej = ev[entity]
        for text in sorted((v_items - e_items).keys()):
            problems.append(f"{entity}: view only: {text}")
        for text in sorted((e_items - v_items).keys()):
            problems.append(f"{entity}: evaluator only: {text}")
        if v_rej != e_rej:
            problems.append(f"{entity}: rejects view {dict(v_rej)} evaluator {dict(e_rej)}")
    return problems
