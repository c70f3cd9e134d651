"""Key sets on disk: the source's keys and DynamoDB's keys in one SQLite file, compared by SQL.

Memory stays bounded whatever the table size: keys are inserted in batches as they stream in (view
rows on one side, Scan pages on the other) and the set differences are SQL joins on the primary key
index. Keys are stored as their canonical text (:func:`dynamigrate.validate.compare.key_string`), so a
key compares equal on both sides exactly when DynamoDB would consider it the same item.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: SQLite page cache per key set, in KiB: the bulk of validation's memory, whatever the table size
CACHE_KIB = 4_000


class KeySetStore:
    """``src``: one row per distinct source key (entity, rowid, number of source rows with that key);
    ``ddb``: one row per DynamoDB item (its marker, if any)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(str(path) + suffix)
            if p.exists():
                p.unlink()
        self.path = path
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(f"PRAGMA cache_size=-{int(CACHE_KIB)}")  # bounded page cache
        self.db.execute("PRAGMA temp_store=FILE")
        self.db.execute(
            "CREATE TABLE src (k TEXT PRIMARY KEY, entity TEXT, rowid TEXT, n INTEGER NOT NULL) WITHOUT ROWID"
        )
        self.db.execute("CREATE TABLE ddb (k TEXT PRIMARY KEY, marker TEXT) WITHOUT ROWID")
        # the view's items (full mode): key, entity, digest of the item (compare.item_digest)
        self.db.execute("CREATE TABLE vw (k TEXT PRIMARY KEY, entity TEXT, h TEXT) WITHOUT ROWID")

    def add_source(self, rows: Iterable[tuple[str, str | None, Any]]) -> None:
        """Insert (key text, entity, rowid) tuples; a key seen again counts a duplicate."""
        self.db.executemany(
            "INSERT INTO src (k, entity, rowid, n) VALUES (?, ?, ?, 1) ON CONFLICT(k) DO UPDATE SET n = n + 1",
            [(k, e, None if r is None else str(r)) for k, e, r in rows],
        )

    def add_recorded(self, keys: Iterable[str]) -> None:
        """Insert key texts the load recorded (a key recorded twice, by a redone chunk, counts once)."""
        self.db.executemany(
            "INSERT OR IGNORE INTO src (k, entity, rowid, n) VALUES (?, NULL, NULL, 1)", [(k,) for k in keys]
        )

    def add_target(self, rows: Iterable[tuple[str, str | None]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO ddb (k, marker) VALUES (?, ?)", list(rows))

    def add_view(self, rows: Iterable[tuple[str, str | None, str]]) -> None:
        """Insert (key text, entity, item digest) of view rows (a key seen again keeps the first)."""
        self.db.executemany("INSERT OR IGNORE INTO vw (k, entity, h) VALUES (?, ?, ?)", list(rows))

    def view_digests(self, keys: list[str]) -> dict[str, str]:
        """The view's item digest for each of these keys that the view has."""
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            sql = f"SELECT k, h FROM vw WHERE k IN ({', '.join('?' * len(part))})"
            out.update(dict(self.db.execute(sql, part)))
        return out

    def view_extra_count(self) -> int:
        """View rows whose key no source row produces under the contract."""
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM vw v WHERE NOT EXISTS (SELECT 1 FROM src s WHERE s.k = v.k)"
            ).fetchone()[0]
        )

    def view_extra(self, limit: int) -> Iterator[tuple[dict[str, Any], str | None]]:
        sql = (
            "SELECT k, entity FROM vw v WHERE NOT EXISTS (SELECT 1 FROM src s WHERE s.k = v.k) "
            f"ORDER BY k LIMIT {int(limit)}"
        )
        for k, entity in self.db.execute(sql):
            yield json.loads(k), entity

    def commit(self) -> None:
        self.db.commit()

    # -- figures --------------------------------------------------------------------------------
    def source_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM src").fetchone()[0])

    def target_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM ddb").fetchone()[0])

    def duplicate_rows(self) -> int:
        """Source rows beyond the first for keys produced by several rows."""
        return int(self.db.execute("SELECT COALESCE(SUM(n - 1), 0) FROM src WHERE n > 1").fetchone()[0])

    def per_entity(self) -> dict[str, dict[str, int]]:
        """entity -> distinct keys, keys present in DynamoDB, duplicate rows."""
        out: dict[str, dict[str, int]] = {}
        for entity, keys, present, dups in self.db.execute(
            "SELECT s.entity, COUNT(*), SUM(d.k IS NOT NULL), SUM(s.n - 1) "
            "FROM src s LEFT JOIN ddb d ON d.k = s.k GROUP BY s.entity"
        ):
            out[entity or ""] = {
                "keys": int(keys),
                "present": int(present or 0),
                "duplicates": int(dups or 0),
            }
        return out

    def missing_count(self) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM src s WHERE NOT EXISTS (SELECT 1 FROM ddb d WHERE d.k = s.k)"
            ).fetchone()[0]
        )

    def missing(self, limit: int | None = None) -> Iterator[tuple[dict[str, Any], str | None, str | None]]:
        """(key, entity, rowid) of source keys with no DynamoDB item, in key order."""
        sql = "SELECT k, entity, rowid FROM src s WHERE NOT EXISTS (SELECT 1 FROM ddb d WHERE d.k = s.k) ORDER BY k"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for k, entity, rowid in self.db.execute(sql):
            yield json.loads(k), entity, rowid

    def extra_counts(self, run_id: str | None = None) -> tuple[int, int, int]:
        """(items with a marker, items without, items whose marker names ``run_id``) that no source
        row produces (or the load did not record)."""
        row = self.db.execute(
            "SELECT SUM(marker IS NOT NULL), SUM(marker IS NULL), SUM(marker LIKE ? || ':%') FROM ddb d "
            "WHERE NOT EXISTS (SELECT 1 FROM src s WHERE s.k = d.k)",
            (run_id or "\x00",),
        ).fetchone()
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    def extra(
        self, limit: int | None = None, *, except_other_runs: str | None = None
    ) -> Iterator[tuple[dict[str, Any], str | None]]:
        """Items no source row produces, in key order; ``except_other_runs=<run id>`` leaves out the
        items whose marker names another run (written by an earlier run, not by this one)."""
        sql = "SELECT k, marker FROM ddb d WHERE NOT EXISTS (SELECT 1 FROM src s WHERE s.k = d.k)"
        params: tuple[Any, ...] = ()
        if except_other_runs is not None:
            sql += " AND (marker IS NULL OR marker LIKE ? || ':%')"
            params = (except_other_runs,)
        sql += " ORDER BY k"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for k, marker in self.db.execute(sql, params):
            yield json.loads(k), marker

    def close(self, remove: bool = True) -> None:
        self.db.close()
        if remove and self.path.exists():
            self.path.unlink()
