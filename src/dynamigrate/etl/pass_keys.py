"""The DynamoDB keys produced in one pass over a table: a later source row with the key of an earlier
row is a duplicate key (``skipped``, reason ``duplicate_key``), whatever write batch or chunk it falls in.

Why the writers cannot tell by themselves: a conditional write that finds an item carrying this run's
marker and the same content takes it for "our own earlier write whose answer was lost" (needed for
resumes and lost answers), and two identical rows of a table without a primary key produce exactly
that item. Only the pass knows that an earlier row already produced the key.

The set lives on disk (SQLite under the run directory: bounded memory whatever the table size) and
survives a resume: every key records the sequence number of its chunk, and a resumed pass first forgets
the keys of chunks after the last checkpoint (those chunks are read again, and their rows must find
their own earlier writes as written, not as duplicates).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from dynamigrate.etl.local_writers import canonical_key

_IN_BATCH = 500


class PassKeys:
    """Keys produced by the rows of this pass, with the chunk sequence number that produced them."""

    def __init__(self, path: Path, keep_before: int):
        """Open (or create) the set at ``path``, forgetting chunks numbered ``keep_before`` and later."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS keys (k TEXT PRIMARY KEY, seq INTEGER) WITHOUT ROWID")
        self.db.execute("CREATE TABLE IF NOT EXISTS dups (k TEXT, seq INTEGER)")
        self.db.execute("DELETE FROM keys WHERE seq >= ?", (keep_before,))
        self.db.execute("DELETE FROM dups WHERE seq >= ?", (keep_before,))
        self.db.commit()

    def split(self, encoded: list[Any], seq: int) -> tuple[list[Any], list[Any]]:
        """``encoded`` (rows of chunk ``seq``) as (rows to write, duplicates of an earlier row's key).

        Rejected rows (``reject_code`` set) are kept in the first list: they never produce a key.
        """
        keyed = [e for e in encoded if getattr(e, "reject_code", None) is None]
        dup_at = set(self.claim([canonical_key(e.key) for e in keyed], seq))
        drop = {id(keyed[i]) for i in dup_at}
        return [e for e in encoded if id(e) not in drop], [keyed[i] for i in sorted(dup_at)]

    def claim(self, keys: list[str], seq: int) -> list[int]:
        """Record the canonical keys of chunk ``seq``'s rows; the positions of those that an earlier
        row of the pass (this chunk's included) already produced: duplicates, never to be written.

        Chunks must be claimed in their order (``seq``): the first row of a key wins, in every
        process of the pass (writer processes send their keys to the engine, which claims them).
        """
        first: dict[str, int] = {}
        dups: list[int] = []
        for i, k in enumerate(keys):
            if k in first:
                dups.append(i)
            else:
                first[k] = i
        known = self._known(list(first))
        if known:
            dups.extend(i for k, i in first.items() if k in known)
            dups.sort()
        self.db.executemany(
            "INSERT OR IGNORE INTO keys (k, seq) VALUES (?, ?)", [(k, seq) for k in first if k not in known]
        )
        if dups:
            self.db.executemany("INSERT INTO dups (k, seq) VALUES (?, ?)", [(keys[i], seq) for i in dups])
        self.db.commit()
        return dups

    def _known(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), _IN_BATCH):
            part = keys[i : i + _IN_BATCH]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self.db.execute(f"SELECT k FROM keys WHERE k IN ({marks})", part))
        return found

    def duplicates(self) -> int:
        """Rows of this pass (resumes included) skipped as duplicate keys."""
        return int(self.db.execute("SELECT COUNT(*) FROM dups").fetchone()[0])

    def examples(self, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` duplicated keys (JSON-safe low-level keys, binary as base64)."""
        rows = self.db.execute("SELECT k FROM dups GROUP BY k ORDER BY MIN(seq) LIMIT ?", (n,))
        return [json.loads(r[0]) for r in rows]

    def all_keys(self) -> list[str]:
        """Every duplicated key once (canonical JSON text), in the order the pass met them."""
        return [r[0] for r in self.db.execute("SELECT k FROM dups GROUP BY k ORDER BY MIN(seq)")]

    def close(self) -> None:
        self.db.close()
