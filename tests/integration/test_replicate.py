"""`dynamigrate replicate`: after a full load and a stream of source changes, the items equal a fresh
full migration of the final source; an item the application changed is left alone and reported; a
SIGKILL mid-stream and a restart lose nothing. Needs the binary log (ROW) on the test MariaDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import scan_items, without_marker, workshop_contract_dict

from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir, read_jsonl

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("DYNAMIGRATE_MYSQL_PORT", "3306"))
TABLES = ("Users", "Products", "Categories", "Tags")
QUIET = {"progress_mode": "quiet", "skip_validation": True}


@pytest.fixture
def binlog_on(services: None) -> None:
    """The test server must log ROW events: fail (never skip) with the fix when it does not."""
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=PORT, user="dynamigrate", password="dynamigrate")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@binlog_format")
            log_bin, fmt = cur.fetchone()
    finally:
        conn.close()
    if not log_bin or str(fmt).upper() != "ROW":
        pytest.fail(
            f"MariaDB on 127.0.0.1:{PORT} runs with log_bin={log_bin}, binlog_format={fmt}: replicate "
            "tests need the binary log in ROW format. Restart it through scripts/services.sh (which "
            "starts it with --log-bin --binlog-format=ROW), or point DYNAMIGRATE_MYSQL_PORT at a "
            "server that has it",
            pytrace=False,
        )


def _connect(db: str) -> Any:
    import pymysql

    return pymysql.connect(
        host="127.0.0.1",
        port=PORT,
        user="dynamigrate",
        password="dynamigrate",
        database=db,
        charset="utf8mb4",
        autocommit=True,
    )


def _config(tmp: Path, name: str, db: str, endpoint: str, prefix: str) -> tuple[Any, Path]:
    data = workshop_contract_dict()
    data["tables"] = [t for t in data["tables"] if t["table"] in TABLES]
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    contract = tmp / f"{name}-contract.json"
    contract.write_text(json.dumps(data), encoding="utf-8")
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": PORT,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": db,
        },
        "migration": {
            "contract_file": str(contract),
            "output_dir": str(tmp / f"{name}-runs"),
            "chunk_rows": 50,
        },
    }
    path = tmp / f"{name}-config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return load_config(path), path


def _one(conn: Any, sql: str, *args: Any) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def _exec(conn: Any, sql: str, *args: Any) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return int(cur.lastrowid or 0)


def _replicate(config: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dynamigrate",
            *os.environ.get("DM_TEST_VERBOSE", "").split(),
            "replicate",
            "--config",
            str(config),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _changes(conn: Any) -> dict[str, Any]:
    """A scripted stream of source changes touching every kind of dependency; returns what the
    assertions need."""
    # a denormalised parent: a category rename changes every product item carrying its name
    cat_id, n_products = _one(
        conn, "SELECT category_id, COUNT(*) FROM products GROUP BY category_id ORDER BY 2 DESC LIMIT 1"
    )
    assert n_products >= 2
    _exec(conn, "UPDATE categories SET name = %s WHERE id = %s", "Umbenannt ✨ 'Lampen' 100%", cat_id)
    # a row feeding an aggregate (categories.product_count) on both sides: a product changes category
    pid, old_cat = _one(conn, "SELECT id, category_id FROM products WHERE category_id <> %s LIMIT 1", cat_id)
    _exec(
        conn,
        "UPDATE products SET category_id = %s, name = CONCAT(name, ' (moved)') WHERE id = %s",
        cat_id,
        pid,
    )
    # inserts: a user, a product (new category item count), a cart line, an order with an item
    seller = _one(conn, "SELECT id FROM users ORDER BY id LIMIT 1")[0]
    uid = _exec(
        conn,
        "INSERT INTO users (email, username, first_name, is_seller, created_at) VALUES "
        "('neu@example.com', 'neu_user', NULL, 0, '2024-03-04 05:06:07')",
    )
    new_pid = _exec(
        conn,
        "INSERT INTO products (seller_id, category_id, name, price, inventory_quantity, created_at) "
        "VALUES (%s, %s, 'Brand new 🚀', 12.50, 3, '2024-03-04 05:06:07')",
        seller,
        old_cat,
    )
    _exec(
        conn,
        "INSERT INTO shopping_carts (user_id, product_id, quantity, created_at) VALUES (%s, %s, 2, NOW())",
        uid,
        new_pid,
    )
    # a row feeding an array (orders.order_items): an item added to an existing order, one deleted
    order_id = _one(conn, "SELECT order_id FROM order_items GROUP BY order_id HAVING COUNT(*) >= 2 LIMIT 1")[
        0
    ]
    _exec(
        conn,
        "INSERT INTO order_items (order_id, product_id, quantity, price_at_time) VALUES (%s, %s, 7, 1.25)",
        order_id,
        new_pid,
    )
    first_item = _one(conn, "SELECT MIN(id) FROM order_items WHERE order_id = %s", order_id)[0]
    _exec(conn, "DELETE FROM order_items WHERE id = %s", first_item)
    # a burst of updates of one row (coalesced) and a key change of a composite-key row
    for i in range(5):
        _exec(conn, "UPDATE products SET inventory_quantity = %s WHERE id = %s", 100 + i, new_pid)
    tag_row = _one(
        conn, "SELECT product_id, tag_code FROM product_tags ORDER BY product_id, tag_code LIMIT 1"
    )
    other_tag = _one(
        conn,
        "SELECT tag_code FROM tags WHERE tag_code NOT IN "
        "(SELECT tag_code FROM product_tags WHERE product_id = %s) LIMIT 1",
        tag_row[0],
    )[0]
    _exec(
        conn,
        "UPDATE product_tags SET tag_code = %s WHERE product_id = %s AND tag_code = %s",
        other_tag,
        *tag_row,
    )
    # an item key fed by a joined row: a user's e-mail is the PK of their cart and order items
    mover = _one(conn, "SELECT user_id FROM orders GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 1")[0]
    _exec(conn, "UPDATE users SET email = CONCAT('moved.', email) WHERE id = %s", mover)
    # an order key change (SK = ORDER#{created_at}#{id}) in one transaction with another change
    conn.begin()
    _exec(
        conn,
        "UPDATE orders SET created_at = '2025-01-02 03:04:05', status = 'shipped' WHERE id = %s",
        order_id,
    )
    _exec(conn, "UPDATE categories SET name = CONCAT(name, ' tx') WHERE id = %s", old_cat)
    conn.commit()
    # deletes: a cart line, an order with its items, a product with nothing pointing at it
    cart_id = _one(conn, "SELECT id FROM shopping_carts ORDER BY id LIMIT 1")[0]
    _exec(conn, "DELETE FROM shopping_carts WHERE id = %s", cart_id)
    gone_order = _one(conn, "SELECT id FROM orders WHERE id <> %s ORDER BY id DESC LIMIT 1", order_id)[0]
    _exec(conn, "DELETE FROM order_items WHERE order_id = %s", gone_order)
    _exec(conn, "DELETE FROM orders WHERE id = %s", gone_order)
    lonely = _exec(
        conn,
        "INSERT INTO products (seller_id, category_id, name, price, inventory_quantity, created_at) "
        "VALUES (%s, %s, 'short-lived', 1, 1, '2024-01-01 00:00:00')",
        seller,
        cat_id,
    )
    _exec(conn, "DELETE FROM products WHERE id = %s", lonely)
    return {"cat_id": cat_id, "pid": pid}


def _all_items(client: Any, prefix: str) -> dict[str, dict[Any, dict[str, Any]]]:
    return {t: {k: without_marker(v) for k, v in scan_items(client, prefix + t).items()} for t in TABLES}


def _assert_equal_to_fresh(
    client: Any, tmp: Path, db: str, endpoint: str, prefix: str, fresh_prefix: str, app_key: tuple[str, Any]
) -> dict[str, dict[Any, dict[str, Any]]]:
    fresh_cfg, _ = _config(tmp, "fresh", db, endpoint, fresh_prefix)
    fresh = migrate(fresh_cfg, MigrateOptions(**QUIET))
    assert fresh.status == "ok", fresh.render_text()
    got, want = _all_items(client, prefix), _all_items(client, fresh_prefix)
    app_table, app_item_key = app_key
    for t in TABLES:
        g, w = dict(got[t]), dict(want[t])
        if t == app_table:
            g.pop(app_item_key, None), w.pop(app_item_key, None)
        assert set(g) == set(w), (t, sorted(set(g) ^ set(w), key=repr)[:10])
        diffs = [k for k in w if g[k] != w[k]]
        assert not diffs, (t, [(g[k], w[k]) for k in diffs[:3]])
    return got


def test_replicate_stream_equals_fresh_migration(
    shop_db_copy: str, binlog_on: None, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = _connect(shop_db_copy)
    cfg, cfg_path = _config(tmp_path, "main", shop_db_copy, ddb_endpoint, ddb_prefix)
    first = migrate(cfg, MigrateOptions(**QUIET))
    assert first.status == "ok", first.render_text()
    run = RunDir.open(first.run_dir or "")
    start = run.read_json("binlog_start.json")
    assert start and start["file"] and start["pos"] > 0

    # the application rewrites a product item itself (no marker); the source row changes too
    app_pid = _one(conn, "SELECT id FROM products ORDER BY id DESC LIMIT 1")[0]
    app_item = {"PK": {"S": str(app_pid)}, "SK": {"S": "#META"}, "product_name": {"S": "edited by the app"}}
    ddb_client.put_item(TableName=f"{ddb_prefix}Products", Item=app_item)
    _exec(conn, "UPDATE products SET price = price + 1 WHERE id = %s", app_pid)
    facts = _changes(conn)

    proc = _replicate(cfg_path, "--stop-at-head", "--json")
    result = json.loads(proc.stdout)
    assert result["status"] == "caught up"
    assert result["conflicts"] >= 1 and result["deleted"] >= 4, result
    # a burst of five updates of one row and the rest: fewer items recomputed than row changes seen
    assert result["rows"] > 0

    got = _assert_equal_to_fresh(
        ddb_client,
        tmp_path,
        shop_db_copy,
        ddb_endpoint,
        ddb_prefix,
        f"{ddb_prefix}f_",
        ("Products", (str(app_pid), "#META")),
    )
    # the application's item is untouched and reported
    assert got["Products"][(str(app_pid), "#META")] == {
        "PK": str(app_pid),
        "SK": "#META",
        "product_name": "edited by the app",
    }
    conflicts = list(read_jsonl(run.file("replicate/conflicts.jsonl")))
    assert any(
        c["table"] == f"{ddb_prefix}Products" and c["key"]["PK"] == {"S": str(app_pid)} for c in conflicts
    ), conflicts
    renamed = [i for i in got["Products"].values() if str(i.get("category_id")) == str(facts["cat_id"])]
    assert renamed and all(i["category_path"] == "Umbenannt ✨ 'Lampen' 100%" for i in renamed)

    # status shows the replication figures from the run directory
    status = subprocess.run(
        [sys.executable, "-m", "dynamigrate", "status", "--run", str(run.path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert "replication: caught up" in status.stdout and f"conflicts {result['conflicts']}" in status.stdout
    assert f"deleted {result['deleted']}" in status.stdout, status.stdout

    # cut-over readiness: caught up, but the application's item differs from the source: NO-GO
    verdict, code = _cutover(cfg_path)
    assert verdict["pending_changes"] == 0 and verdict["lag_seconds"] == 0.0, verdict
    assert code == 1 and verdict["go"] is False
    assert verdict["validation"]["tables"] == {
        f"{ddb_prefix}{t}": ("failed" if t == "Products" else "passed") for t in TABLES
    }, verdict["validation"]
    # the conflict resolved (the application's item removed, the row touched): GO
    ddb_client.delete_item(
        TableName=f"{ddb_prefix}Products", Key={"PK": {"S": str(app_pid)}, "SK": {"S": "#META"}}
    )
    _exec(conn, "UPDATE products SET price = price + 1 WHERE id = %s", app_pid)
    assert json.loads(_replicate(cfg_path, "--stop-at-head", "--json").stdout)["written"] >= 1
    verdict, code = _cutover(cfg_path)
    assert code == 0 and verdict["go"] is True and verdict["validation"]["status"] == "passed", verdict

    # a second run at the head has nothing to do and starts from the checkpoint
    again = json.loads(_replicate(cfg_path, "--stop-at-head", "--json").stdout)
    assert again["start_source"] == "checkpoint" and again["rows"] == 0 and again["written"] == 0


def _cutover(config: Path) -> tuple[dict[str, Any], int]:
    proc = subprocess.run(
        [sys.executable, "-m", "dynamigrate", "cutover", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout), proc.returncode


def test_replicate_sigkill_mid_stream_then_restart(
    shop_db_copy: str, binlog_on: None, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = _connect(shop_db_copy)
    cfg, cfg_path = _config(tmp_path, "main", shop_db_copy, ddb_endpoint, ddb_prefix)
    first = migrate(cfg, MigrateOptions(**QUIET))
    assert first.status == "ok", first.render_text()
    run = RunDir.open(first.run_dir or "")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    follower = subprocess.Popen(
        [sys.executable, "-m", "dynamigrate", "replicate", "--config", str(cfg_path), "--window", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    products = [r[0] for r in _rows(conn, "SELECT id FROM products ORDER BY id")]
    writing = threading.Event()

    def write_stream() -> None:
        # many small transactions, the follower applying them as they come; still writing at the kill
        writer = _connect(shop_db_copy)
        try:
            i = 0
            while i < len(products) * 2 or writing.is_set():
                p = products[i % len(products)]
                _exec(
                    writer,
                    "UPDATE products SET inventory_quantity = %s, name = CONCAT('v', %s) WHERE id = %s",
                    i,
                    i,
                    p,
                )
                i += 1
        finally:
            writer.close()

    try:
        writing.set()
        stream = threading.Thread(target=write_stream)
        stream.start()
        deadline = time.monotonic() + 60
        while not run.file("replicate/checkpoint.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.file("replicate/checkpoint.json").exists(), (
            follower.stderr.read() if follower.poll() is not None else "no checkpoint"
        )
        assert stream.is_alive()  # the kill lands mid-stream: changes keep coming after it
        os.kill(follower.pid, signal.SIGKILL)
        follower.wait()
        cp = run.read_json("replicate/checkpoint.json")
        writing.clear()
        stream.join()
        facts = _changes(conn)
        head = _one(conn, "SHOW MASTER STATUS")
        assert (cp["file"], cp["pos"]) < (head[0], int(head[1]))
    finally:
        writing.clear()
        if follower.poll() is None:
            os.kill(follower.pid, signal.SIGKILL)
        follower.wait()
    for p in products[:20]:
        _exec(conn, "UPDATE products SET description = 'after the kill' WHERE id = %s", p)
    _replicate(cfg_path, "--stop-at-head")
    got = _assert_equal_to_fresh(
        ddb_client,
        tmp_path,
        shop_db_copy,
        ddb_endpoint,
        ddb_prefix,
        f"{ddb_prefix}f_",
        ("Products", ("-", "-")),
    )
    assert got["Products"][(str(facts["pid"]), "#META")]["product_name"].endswith("(moved)")


def test_migrate_follow_then_sigterm_stops_cleanly_after_checkpoint(
    shop_db_copy: str, binlog_on: None, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = _connect(shop_db_copy)
    cfg, cfg_path = _config(tmp_path, "main", shop_db_copy, ddb_endpoint, ddb_prefix)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dynamigrate",
            "migrate",
            "--config",
            str(cfg_path),
            "--follow",
            "--skip-validation",
            "--progress",
            "quiet",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(
            Path(cfg.migration.output_dir).glob("*/replicate/state.json")
        ):
            assert follower.poll() is None, follower.communicate()
            time.sleep(0.2)
        (state,) = Path(cfg.migration.output_dir).glob("*/replicate/state.json")
        run = RunDir.open(state.parent.parent)
        pid = _one(conn, "SELECT id FROM products ORDER BY id LIMIT 1")[0]
        _exec(conn, "UPDATE products SET name = 'followed' WHERE id = %s", pid)
        deadline = time.monotonic() + 60
        item: dict[str, Any] = {}
        while time.monotonic() < deadline:
            item = ddb_client.get_item(
                TableName=f"{ddb_prefix}Products",
                Key={"PK": {"S": str(pid)}, "SK": {"S": "#META"}},
                ConsistentRead=True,
            ).get("Item", {})
            if item.get("product_name") == {"S": "followed"}:
                break
            time.sleep(0.1)
        assert item.get("product_name") == {"S": "followed"}
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
        assert follower.returncode == 0, err
        # stdout: the migration's summary, then the replication's
        decoder = json.JSONDecoder()
        loaded, end = decoder.raw_decode(out)
        assert loaded["status"] == "ok"
        assert json.loads(out[end:])["status"] == "stopped"
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    cp = run.read_json("replicate/checkpoint.json")
    head = _one(conn, "SHOW MASTER STATUS")
    assert (cp["file"], cp["pos"]) <= (head[0], int(head[1]))
    assert cp["pos"] > 0


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_replicate_errors_say_the_fix(
    shop_db_copy: str, binlog_on: None, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    import uuid

    mysql_db = shop_db_copy
    conn = _connect(mysql_db)
    cfg, cfg_path = _config(tmp_path, "main", mysql_db, ddb_endpoint, ddb_prefix)
    # a run that recorded no position (the binlog was off when it ran)
    bare = RunDir.create(cfg.migration.output_dir, meta={"command": "migrate"})
    proc = _replicate(cfg_path, "--run", bare.run_id, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "recorded no binlog position" in proc.stderr and "--from-position" in proc.stderr
    assert "Traceback" not in proc.stderr
    # a position whose file was purged (or never existed)
    proc = _replicate(cfg_path, "--run", bare.run_id, "--from-position", "mariadb-bin.000000:4", check=False)
    assert proc.returncode == 1, proc.stderr
    assert (
        "mariadb-bin.000000" in proc.stderr and "purged" in proc.stderr and "new full migrate" in proc.stderr
    )
    # not a position at all: bad input, exit 2
    proc = _replicate(cfg_path, "--run", bare.run_id, "--from-position", "1181", check=False)
    assert proc.returncode == 2 and "FILE:POS" in proc.stderr, proc.stderr
    # a user without REPLICATION SLAVE / CLIENT
    user = f"dm_norepl_{uuid.uuid4().hex[:8]}"
    _exec(conn, f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw'")
    try:
        _exec(conn, f"GRANT SELECT ON `{mysql_db}`.* TO '{user}'@'127.0.0.1'")
        raw = json.loads(cfg_path.read_text(encoding="utf-8"))
        raw["mysql"].update(user=user, password="pw")
        limited = tmp_path / "limited.json"
        limited.write_text(json.dumps(raw), encoding="utf-8")
        head = _one(conn, "SHOW MASTER STATUS")
        proc = _replicate(
            limited, "--run", bare.run_id, "--from-position", f"{head[0]}:{head[1]}", check=False
        )
        assert proc.returncode == 1, proc.stderr
        assert "GRANT REPLICATION SLAVE, REPLICATION CLIENT" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        _exec(conn, f"DROP USER '{user}'@'127.0.0.1'")
