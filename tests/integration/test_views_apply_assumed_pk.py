"""`views apply` of views generated without a schema checks the one reading they assume (a
self-reference read with the primary key ``id``) against the live schema, on real MariaDB.

``cats.cat_no = cats.id`` on a table whose primary key is ``cat_no`` means "the parent is the row whose
cat_no is my id". Generated offline, the view reads it as "the row whose id is my cat_no": every item
would get another row's name as its parent, with no error anywhere. Applying that file must stop before
running anything, naming the table, the JSON path and the fix; a table whose key really is ``id``
applies, with the parents computed here by hand from the inserted rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.cli import main

pytestmark = pytest.mark.integration


def _contract(tmp: Path, source: str, key: str) -> Path:
    data = {
        "tables": [
            {
                "table": "Cats",
                "type": "single-entity",
                "source_table": source,
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": key},
                    {
                        "name": "parent",
                        "type": "S",
                        "source_column": "id" if key != "id" else "parent_id",
                        "join": {
                            "type": "foreign-key",
                            "target_table": source,
                            "join_condition": f"{source}.{key} = {source}."
                            + ("id" if key != "id" else "parent_id"),
                            "select_column": f"{source}.name",
                        },
                    },
                ],
            }
        ]
    }
    path = tmp / f"{source}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _views(mysql_conn: Any) -> list[str]:
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()")
        return sorted(r[0] for r in cur.fetchall())


def test_offline_self_reference_is_verified_before_apply(
    mysql_conn: Any, mysql_db: str, ddb_endpoint: str, tmp_path: Path, capsys: Any
) -> None:
    with mysql_conn.cursor() as cur:
        # cat_no is the key; id points at the parent's cat_no
        cur.execute("CREATE TABLE cats (cat_no INT PRIMARY KEY, id INT NULL, name VARCHAR(20) NOT NULL)")
        cur.execute("INSERT INTO cats VALUES (1, NULL, 'Root'), (2, 1, 'Child'), (3, 2, 'Leaf')")
        # the convention holds here: id is the key, parent_id points at it
        cur.execute("CREATE TABLE nodes (id INT PRIMARY KEY, parent_id INT NULL, name VARCHAR(20) NOT NULL)")
        cur.execute("INSERT INTO nodes VALUES (10, NULL, 'Top'), (11, 10, 'Mid'), (12, 11, 'Low')")
    mysql_conn.commit()
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, tmp_path / "unused.json")

    wrong_sql = tmp_path / "cats.sql"
    assert main(["views", "generate", str(_contract(tmp_path, "cats", "cat_no")), "--dialect", "mariadb",
                 "-o", str(wrong_sql)]) == 0  # fmt: skip
    assert "assumed primary key cats.id (no schema given)" in wrong_sql.read_text()
    capsys.readouterr()

    code = main(["views", "apply", str(wrong_sql), "--config", str(config), "--via", "direct"])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "generated without a schema" in err and "nothing was run" in err
    assert (
        "Cats (tables[0].attributes[1].join.join_condition): the self-reference was read with cats.id as "
        "the primary key, but the primary key of cats is (cat_no): the view would join the wrong rows"
    ) in err
    assert "--schema-from-db" in err
    assert _views(mysql_conn) == []

    right_sql = tmp_path / "nodes.sql"
    assert main(["views", "generate", str(_contract(tmp_path, "nodes", "id")), "--dialect", "mariadb",
                 "-o", str(right_sql)]) == 0  # fmt: skip
    assert "assumed primary key nodes.id (no schema given)" in right_sql.read_text()

    assert main(["views", "apply", str(right_sql), "--config", str(config), "--via", "direct"]) == 0

    assert _views(mysql_conn) == ["ddb_cats_view"]
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT PK, parent FROM ddb_cats_view ORDER BY PK")
        assert cur.fetchall() == (("10", None), ("11", "Top"), ("12", "Mid"))
