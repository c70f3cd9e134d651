"""`dynamigrate markers remove` after cut-over: an item the application changed keeps its marker, and
the command (exit 1) says what that means and what to do, not only a count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.cli import main
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration


def test_markers_remove_explains_the_items_it_keeps(
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = f"{ddb_prefix}Dev"
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE dev (id BINARY(16) PRIMARY KEY, label VARCHAR(20) NULL)")
        cur.executemany("INSERT INTO dev VALUES (%s, %s)", [(bytes([i]) * 16, f"d{i} 🔧") for i in range(4)])
    mysql_conn.commit()
    attrs = [
        {"name": "id", "type": "B", "source_table": "dev", "source_column": "id"},
        {"name": "label", "type": "S", "source_table": "dev", "source_column": "label"},
    ]
    contract = tmp_path / "contract.json"
    contract.write_text(
        json.dumps(
            [
                {
                    "table": table,
                    "type": "single-entity",
                    "source_table": "dev",
                    "pk": "id",
                    "attributes": attrs,
                }
            ]
        ),
        encoding="utf-8",
    )
    cfg, cfg_path = make_config(tmp_path, mysql_db, ddb_endpoint, contract)
    assert migrate(cfg, MigrateOptions(progress_mode="quiet", skip_validation=True)).exit_code() == 0
    ddb_client.update_item(  # the application edits one item and keeps the marker
        TableName=table,
        Key={"id": {"B": bytes([2]) * 16}},
        UpdateExpression="SET label = :l",
        ExpressionAttributeValues={":l": {"S": "edited by the app"}},
    )
    capsys.readouterr()

    assert main(["markers", "remove", "--config", str(cfg_path)]) == 1
    out, err = capsys.readouterr()
    assert f"{table}: removed 3 marker(s); 1 item(s) changed since the migration (kept)" in out
    assert "1 item(s) keep '_dm_marker': they changed after the migration wrote them" in err
    assert "UpdateItem REMOVE _dm_marker" in err
    items = ddb_client.scan(TableName=table)["Items"]
    assert [i["label"]["S"] for i in items if "_dm_marker" in i] == ["edited by the app"]
