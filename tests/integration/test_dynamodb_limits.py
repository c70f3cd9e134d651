"""Values DynamoDB refuses although they look fine in MySQL: keys longer than 2048 bytes (partition,
of the table or a GSI) or 1024 bytes (sort key), documents nested deeper than 32 levels.

They reached DynamoDB, came back as ValidationExceptions (write_failed), and validation failed the run
(the evaluator expected the items) or could not run at all (a BatchGet with an over-long key). Now
preflight counts them (P122, P143), the encoder and the evaluator reject them alike, and the run
passes with the rows in rejected.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration


def _nested(levels: int) -> str:
    text = "1"
    for _ in range(levels):
        text = '{"a": ' + text + "}"
    return text


def test_over_long_keys_and_too_deep_documents(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    rows = [
        (1, "p" * 2048, "s" * 1024, "g" * 2048, _nested(31)),  # exactly at every limit: written
        (2, "p" * 2049, "x", None, None),
        (3, "ok", "s" * 1025, None, None),
        (4, "ok2", "y", "g" * 2049, None),
        (5, "é" * 1025, "z", None, None),  # 2050 bytes in 1025 characters
        (6, "deep", "d", None, _nested(32)),
    ]
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE longk (id INT PRIMARY KEY, p TEXT NOT NULL, s TEXT NOT NULL, g TEXT NULL, j LONGTEXT NULL)"
        )
        cur.executemany("INSERT INTO longk VALUES (%s, %s, %s, %s, %s)", rows)
    mysql_conn.commit()
    table = f"{ddb_prefix}LongK"
    attrs = [
        {"name": n, "type": t, "source_table": "longk", "source_column": n}
        for n, t in (("p", "S"), ("s", "S"), ("g", "S"), ("id", "N"))
    ]
    attrs.append(
        {
            "name": "j",
            "type": "M",
            "source_table": "longk",
            "source_column": "j",
            "transformation": {"type": "json-parse"},
        }
    )
    doc = {
        "table": table,
        "type": "single-entity",
        "source_table": "longk",
        "pk": "p",
        "sk": "s",
        "gsis": [{"index_name": "ByG", "pk": "g", "projection": "KEYS_ONLY"}],
        "attributes": attrs,
    }
    path = tmp_path / "contract.json"
    path.write_text(json.dumps({"tables": [doc]}), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, path)

    stopped = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert stopped.status == "failed"
    findings = {(f["check"], f["attribute"]): f["count"] for f in _preflight(stopped.run_dir)}
    assert findings == {
        ("key_too_long", "p"): 2,
        ("key_too_long", "s"): 1,
        ("key_too_long", "g"): 1,
        ("invalid_json", "j"): 1,
    }

    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", accept=("key_too_long", "invalid_json")))
    assert summary.status == "ok", summary.render_text()  # validation agrees with what was written
    items = ddb_client.scan(TableName=table)["Items"]
    assert [it["id"]["N"] for it in items] == ["1"]
    run_dir = Path(summary.run_dir or "")
    rejected = [
        json.loads(line) for line in (run_dir / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted((r["row"]["id"], r["code"]) for r in rejected) == [
        ("2", "key_too_long"),
        ("3", "key_too_long"),
        ("4", "key_too_long"),
        ("5", "key_too_long"),
        ("6", "bad_json"),
    ]
    reasons = {r["row"]["id"]: r["reason"] for r in rejected}
    assert reasons["5"] == "key attribute 'p' is 2050 bytes; DynamoDB allows 2048 for a partition key"
    assert reasons["3"] == "key attribute 's' is 1025 bytes; DynamoDB allows 1024 for a sort key"


def _preflight(run_dir: str | None) -> list[dict[str, Any]]:
    data = json.loads((Path(run_dir or "") / "preflight.json").read_text(encoding="utf-8"))
    return [{"check": f["check"], "attribute": f["attribute"], "count": f["count"]} for f in data["findings"]]
