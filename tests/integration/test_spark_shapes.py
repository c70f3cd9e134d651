"""The Spark engine reads every source shape, partitioned, and lands exactly the expected items.

Source tables of every key shape (``_shapes_scenario``: sparse BIGINT, INT+VARCHAR, two VARCHARs,
VARCHAR, BINARY(16), unique key without primary key, no key, and a multi-entity table of four of
them); items expected from the Python rows by hand. Small partitions so that every keyed table is
split; the counters and the equation hold per table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _etl_expect import compare, make_config, scan_items
from _shapes_scenario import (
    FILTERED,
    REJECTED,
    S_COMP,
    S_INT,
    S_NOKEY,
    S_VC,
    create_source,
    expected_items,
    source_rows,
    write_contract,
)

from dynamigrate.contract.load import load_contract
from dynamigrate.etl.base import EtlContext, EtlOptions
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Any:
    from dynamigrate.etl.spark import spark_session

    session = spark_session(None, "local[2,2]")
    yield session
    session.stop()


def test_every_source_shape_lands_item_for_item(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    import dataclasses

    from dynamigrate.etl.spark import SparkEngine
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.provision import ensure_table

    create_source(mysql_conn)
    contract_file = write_contract(tmp_path, ddb_prefix)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_file)
    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 8, "chunk_rows": 5}})
    contract = load_contract(contract_file)
    schema = introspect(mysql_conn, mysql_db)
    with mysql_conn.cursor() as cur:
        for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
            cur.execute(stmt.sql)
    for t in contract.tables:
        ensure_table(ddb_client, t)

    run = RunDir.create(cfg.migration.output_dir)
    ctx = EtlContext(
        config=cfg,
        contract=contract,
        run=run,
        options=EtlOptions(write_mode="insert"),
        database=mysql_db,
        schema=schema,  # the live schema, as migrate passes it: base tables are counted, not views
    )
    engine = SparkEngine(spark)
    results = {t.name.removeprefix(ddb_prefix): engine.run_table(ctx, t) for t in contract.tables}

    # the rejected row is recorded once, with its source key (the view's key column), as locally
    (rej,) = run.read_lines("rejected.jsonl")
    assert rej["table"] == ddb_prefix + "ShVc" and rej["code"] == "empty_key"
    assert rej["row"]["_dm_k1"] == "" and rej["row"]["label"] == dict(S_VC)[""]

    expected = expected_items()
    rows = source_rows()
    for name, want in expected.items():
        got = scan_items(ddb_client, ddb_prefix + name)
        assert compare(got, want) == [], name
        r = results[name]
        assert r.status == "done", (name, r.error)
        rejected = REJECTED.get(name, {})
        filtered = FILTERED.get(name, 0)
        read = rows[name] - filtered  # the view holds the rows the filter keeps
        written = read - sum(rejected.values())
        assert (r.read, r.written, r.skipped, r.conflicts, r.rejected) == (read, written, 0, 0, rejected), (
            name
        )
        # the equation, per table and per entity, from the base tables' counts
        acc = r.accounting
        assert acc is not None and acc["status"] == "ok", (name, acc)
        assert acc["table"]["basis"] == "base table", name
        assert (acc["table"]["source_rows_before"], acc["table"]["filtered"]) == (rows[name], filtered), name
        assert acc["table"]["accounted"] == read, name
        assert {e["entity"]: e["accounted"] for e in acc["entities"]} == ENTITY_ROWS[name], name
        # every keyed shape is split (small partitions); a source without a unique key is one
        # partition (per entity in the multi-entity table)
        schemes = r.extra["spark"]["schemes"]
        assert set(schemes) == SCHEMES[name], (name, schemes)
        if SCHEMES[name] != {"single"}:
            assert r.extra["spark"]["partitions"] >= 3, (name, schemes)


#: How each table is partitioned: rowid ranges (single integer key), ranges of the first key column
#: (an integer; text or binary: between boundaries from the data), hash buckets (a DATE key), one
#: partition (no unique key).
SCHEMES = {
    "ShInt": {"rowid"},
    "ShComp": {"range"},
    "ShTwoVc": {"text-range"},
    "ShVc": {"text-range"},
    "ShBin": {"text-range"},
    "ShUniq": {"text-range"},
    "ShNokey": {"single"},
    "ShDate": {"hash"},
    "ShMulti": {"rowid", "range", "text-range", "single"},
}

#: Source rows per entity, from the Python rows (single-entity tables: the entity is the source table).
ENTITY_ROWS = {
    **{
        name: {src: n}
        for name, (src, n) in {
            "ShInt": ("s_int", len(S_INT)),
            "ShComp": ("s_comp", len(S_COMP)),
            "ShTwoVc": ("s_two_vc", source_rows()["ShTwoVc"]),
            "ShVc": ("s_vc", len(S_VC)),
            "ShBin": ("s_bin", source_rows()["ShBin"]),
            "ShUniq": ("s_uniq", source_rows()["ShUniq"] - FILTERED["ShUniq"]),
            "ShNokey": ("s_nokey", len(S_NOKEY)),
            "ShDate": ("s_date", source_rows()["ShDate"]),
        }.items()
    },
    "ShMulti": {"TAG": len(S_COMP), "CODE": len(S_VC), "ROW": len(S_NOKEY), "NUM": len(S_INT)},
}
