"""Undo a run: delete exactly the items it wrote (only while unchanged).

Rollback (``rollback_run``) works from the run directory alone:

* ``written/<T>.jsonl`` lists the key and the marker (``<run_id>:<fingerprint>``) of every item the run
  wrote (items it skipped are not there). The last line for a key wins (a resumed run may write a key
  twice).
* ``old_images/<T>.jsonl`` holds the image of items the run *replaced* (sync / newer / overwrite modes);
  the first image of a key that does not carry this run's marker is the pre-run state.

For each key: if the run replaced an item, the old image is put back, else the item is deleted; both
with the condition ``#marker = :the_marker_this_run_wrote``. An item changed since (the application
wrote it, another run replaced it) fails the condition and is left alone and reported with its key;
an item already gone is reported as such. Items the run never wrote are never touched: the rollback
only addresses keys from ``written/``. Key lists are de-duplicated in an on-disk SQLite file, so memory
stays bounded for any run size.

``--dry-run`` reads the current items (BatchGetItem, keys + marker only) and says what would happen to
each, without writing.

Clean-up of what a run created is :mod:`dynamigrate.cleanup`.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.errors import TransientTargetError
from dynamigrate.runstate import RunDir, utcnow
from dynamigrate.validate.compare import canonical_value, json_safe, key_string, plain_key

log = logging.getLogger(__name__)

#: keys listed per outcome in the report (all are counted)
MAX_LISTED = 100
#: BatchGetItem calls for one batch of keys while DynamoDB leaves some unprocessed (then an error)
UNPROCESSED_ATTEMPTS = 10


# -- results ----------------------------------------------------------------------------------------


@dataclass
class TableRollback:
    table: str
    keys: int = 0  # distinct keys the run wrote
    deleted: int = 0
    restored: int = 0
    changed: int = 0  # changed since the run wrote it: left alone
    gone: int = 0  # already deleted by someone else
    already_restored: int = 0  # holds the pre-run image already (an earlier rollback)
    undeleted: int = 0  # items the run deleted (sync --delete-missing), put back
    deleted_by_run: int = 0  # items the run deleted, in total
    no_marker: int = 0  # written without a marker: cannot prove it is unchanged, left alone
    errors: int = 0
    changed_keys: list[dict[str, Any]] = field(default_factory=list)
    gone_keys: list[dict[str, Any]] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)

    @property
    def left_alone(self) -> int:
        return self.changed + self.no_marker + self.errors


@dataclass
class RollbackReport:
    run_id: str
    dry_run: bool
    started_at: str
    finished_at: str | None = None
    tables: list[TableRollback] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.errors == 0 for t in self.tables)

    def table(self, name: str) -> TableRollback:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "ok": self.ok,
            "tables": [asdict(t) for t in self.tables],
        }

    def render_text(self, max_listed: int = 10) -> str:
        verb = ("would delete", "would restore") if self.dry_run else ("deleted", "restored")
        lines = [f"rollback of run {self.run_id}" + (" (dry run: nothing changed)" if self.dry_run else "")]
        for t in self.tables:
            lines.append(
                f"  {t.table}: {t.keys} item(s) written by the run: {verb[0]} {t.deleted}, {verb[1]} "
                f"{t.restored}, changed since (left alone) {t.changed}, already gone {t.gone}"
                + (f", already restored {t.already_restored}" if t.already_restored else "")
                + (
                    f"; of {t.deleted_by_run} item(s) the run deleted, {'would put back' if self.dry_run else 'put back'} "
                    f"{t.undeleted}"
                    if t.deleted_by_run
                    else ""
                )
                + (f", without marker (left alone) {t.no_marker}" if t.no_marker else "")
                + (f", errors {t.errors}" if t.errors else "")
            )
            for k in t.changed_keys[:max_listed]:
                lines.append(f"    changed since: {plain_key(k['key'])} (marker now {k.get('marker_now')})")
            for m in t.error_messages[:max_listed]:
                lines.append(f"    error: {m}")
        return "\n".join(lines)


# -- key lists on disk ------------------------------------------------------------------------------


class _RunKeys:
    """The distinct keys a run wrote to one table, with their marker and old image (SQLite)."""

    def __init__(
        self, path: Path, run: RunDir, table_file: str, old_file: str, run_id: str, marker_attr: str
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(
            "CREATE TABLE w (k TEXT PRIMARY KEY, key TEXT, marker TEXT, seq INTEGER) WITHOUT ROWID"
        )
        self.db.execute("CREATE TABLE old (k TEXT PRIMARY KEY, image TEXT) WITHOUT ROWID")
        # items the run deleted (sync --delete-missing): put back while still absent
        self.db.execute("CREATE TABLE del (k TEXT PRIMARY KEY, key TEXT, image TEXT) WITHOUT ROWID")
        batch: list[tuple[str, str, str | None, int]] = []
        for seq, line in enumerate(run.read_lines(table_file)):
            key = line.get("key") or {}
            batch.append((key_string(_decode_key(key)), json.dumps(key), line.get("marker"), seq))
            if len(batch) >= 5000:
                self._put_written(batch)
                batch = []
        self._put_written(batch)
        own = f"{run_id}:"
        olds: list[tuple[str, str]] = []
        dels: list[tuple[str, str, str]] = []
        for line in run.read_lines(old_file):
            image = line.get("old")
            if not isinstance(image, dict) or not image:
                continue
            m = image.get(marker_attr)
            if isinstance(m, dict) and str(m.get("S", "")).startswith(own):
                continue  # an image of this run's own earlier write, not the pre-run state
            key = line.get("key") or {}
            olds.append((key_string(_decode_key(key)), json.dumps(image)))
            if line.get("deleted"):
                dels.append((key_string(_decode_key(key)), json.dumps(key), json.dumps(image)))
            if len(olds) >= 5000:
                self._put_old(olds, dels)
                olds, dels = [], []
        self._put_old(olds, dels)
        # a key the run wrote after deleting it is handled as a written key (its old image applies)
        self.db.execute("DELETE FROM del WHERE k IN (SELECT k FROM w)")
        self.db.commit()

    def _put_old(self, olds: list[tuple[str, str]], dels: list[tuple[str, str, str]]) -> None:
        # the first image of a key is the pre-run state
        self.db.executemany("INSERT OR IGNORE INTO old VALUES (?, ?)", olds)
        self.db.executemany("INSERT OR IGNORE INTO del VALUES (?, ?, ?)", dels)

    def deleted_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM del").fetchone()[0])

    def iter_deleted(self, batch: int = 100) -> Iterator[list[tuple[dict[str, Any], dict[str, Any]]]]:
        cur = self.db.execute("SELECT key, image FROM del ORDER BY k")
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield [(_decode_key(json.loads(k)), _decode_item(json.loads(i))) for k, i in rows]

    def _put_written(self, batch: list[tuple[str, str, str | None, int]]) -> None:
        # the last write of a key wins (its marker is what the item carries)
        self.db.executemany(
            "INSERT INTO w VALUES (?, ?, ?, ?) ON CONFLICT(k) DO UPDATE SET marker = excluded.marker, "
            "seq = excluded.seq",
            batch,
        )

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM w").fetchone()[0])

    def iter(
        self, batch: int = 100
    ) -> Iterator[list[tuple[dict[str, Any], str | None, dict[str, Any] | None]]]:
        cur = self.db.execute(
            "SELECT w.key, w.marker, old.image FROM w LEFT JOIN old ON old.k = w.k ORDER BY w.seq"
        )
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield [
                (_decode_key(json.loads(k)), m, _decode_item(json.loads(o)) if o else None)
                for k, m, o in rows
            ]

    def close(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)


def _decode_b64(v: Any) -> Any:
    import base64

    return base64.b64decode(v) if isinstance(v, str) else v


def _decode_value(v: dict[str, Any]) -> dict[str, Any]:
    """A low-level value read back from JSON (binary was written as base64 text)."""
    ((t, x),) = v.items()
    if t == "B":
        return {"B": _decode_b64(x)}
    if t == "BS":
        return {"BS": [_decode_b64(b) for b in x]}
    if t == "M":
        return {"M": {k: _decode_value(e) for k, e in x.items()}}
    if t == "L":
        return {"L": [_decode_value(e) for e in x]}
    return {t: x}


def _decode_key(key: dict[str, Any]) -> dict[str, Any]:
    return {k: _decode_value(v) for k, v in key.items()}


def _decode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _decode_value(v) for k, v in item.items()}


def _same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    return all(canonical_value(a[k]) == canonical_value(b[k]) for k in a)


# -- rollback ---------------------------------------------------------------------------------------


def _tables_of(run: RunDir) -> list[tuple[str, str, str]]:
    """(table name, written file, old images file) for every table the run wrote to."""
    names: list[str] = list((run.state().get("tables") or {}).keys()) + list(run.meta.get("tables") or [])
    by_file = {run.written_file(n): n for n in names}
    out: list[tuple[str, str, str]] = []
    stems: set[str] = set()
    for sub in ("written", "old_images"):
        d = run.path / sub
        if d.is_dir():
            stems.update(p.stem for p in d.glob("*.jsonl"))
    for stem in sorted(stems):
        rel = f"written/{stem}.jsonl"
        name = by_file.get(rel, stem)
        out.append((name, rel, run.old_images_file(name)))
    return out


def _error_code(exc: BaseException) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str((resp.get("Error") or {}).get("Code") or "")
    return ""


_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """One request, retried with backoff on throttling / 5xx."""
    delay = 0.05
    for attempt in range(10):
        try:
            return fn(**kwargs)
        except Exception as exc:
            if _error_code(exc) not in _RETRYABLE or attempt == 9:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")


def rollback_run(
    client_factory: Callable[[], Any],
    run: RunDir,
    dry_run: bool = False,
    *,
    tables: list[str] | None = None,
    workers: int = 8,
    marker_attribute: str | None = None,
) -> RollbackReport:
    """Delete (or restore) exactly the items ``run`` wrote that are unchanged since; see the module doc."""
    marker_attr = marker_attribute or run.meta.get("marker_attribute") or "_dm_marker"
    client = client_factory()
    report = RollbackReport(run_id=run.run_id, dry_run=dry_run, started_at=utcnow())
    if not dry_run:
        run.event("phase", phase="rollback", status="started")
    for name, wfile, ofile in _tables_of(run):
        if tables and name not in tables:
            continue
        tr = TableRollback(name)
        report.tables.append(tr)
        keys = _RunKeys(
            run.path / "rollback" / f"{Path(wfile).stem}.sqlite", run, wfile, ofile, run.run_id, marker_attr
        )
        try:
            tr.keys = keys.count()
            tr.deleted_by_run = keys.deleted_count()
            if dry_run:
                _dry_run_table(client, name, keys, tr, marker_attr)
            else:
                _rollback_table(client, name, keys, tr, marker_attr, workers)
            _undelete(client, name, keys, tr, dry_run)
        finally:
            keys.close()
        log.info("rollback %s: %s", name, asdict(tr) | {"changed_keys": len(tr.changed_keys)})
    report.finished_at = utcnow()
    run.write_json("rollback-dry-run.json" if dry_run else "rollback.json", report.to_dict())
    if not dry_run:
        run.update_state(
            rollback={
                "finished_at": report.finished_at,
                "deleted": sum(t.deleted for t in report.tables),
                "restored": sum(t.restored for t in report.tables),
                "undeleted": sum(t.undeleted for t in report.tables),
                "left_alone": sum(t.left_alone for t in report.tables),
            }
        )
        run.event("phase", phase="rollback", status="finished")
    return report


def _unchanged(current: dict[str, Any], marker: str, marker_attr: str) -> bool:
    """The item still is what the run wrote: its marker is the run's and its content fingerprint is
    the one in the marker (an application update that kept the marker changes the fingerprint)."""
    from dynamigrate.target.encode import fingerprint, parse_marker

    m = current.get(marker_attr)
    if not (isinstance(m, dict) and m.get("S") == marker):
        return False
    parsed = parse_marker(marker)
    return parsed is not None and fingerprint(current, marker_attr) == parsed[1]


def _classify_current(
    current: dict[str, Any] | None, marker: str, old: dict[str, Any] | None, marker_attr: str
) -> str:
    if current is None:
        return "gone"
    if _unchanged(current, marker, marker_attr):
        return "restore" if old is not None else "delete"
    if old is not None and _same_item(current, old):
        return "already_restored"
    return "changed"


def _note(
    tr: TableRollback, outcome: str, key: dict[str, Any], current: dict[str, Any] | None, marker_attr: str
) -> None:
    if outcome == "changed":
        tr.changed += 1
        if len(tr.changed_keys) < MAX_LISTED:
            m = (current or {}).get(marker_attr)
            tr.changed_keys.append(
                {"key": json_safe(key), "marker_now": m.get("S") if isinstance(m, dict) else None}
            )
    elif outcome == "gone":
        tr.gone += 1
        if len(tr.gone_keys) < MAX_LISTED:
            tr.gone_keys.append({"key": json_safe(key)})
    elif outcome == "already_restored":
        tr.already_restored += 1


def _current_items(client: Any, table: str, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The current items for ``keys`` (at most 100), strongly consistent, by canonical key text."""
    found: dict[str, dict[str, Any]] = {}
    if not keys:
        return found
    names = list(keys[0])
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    for attempt in range(1, UNPROCESSED_ATTEMPTS + 1):
        resp = _call(client.batch_get_item, RequestItems=request)
        for it in resp.get("Responses", {}).get(table, []):
            found[key_string({n: it[n] for n in names if n in it})] = it
        request = resp.get("UnprocessedKeys") or {}
        if not request:
            return found
        if attempt < UNPROCESSED_ATTEMPTS:  # capped exponential backoff with full jitter
            time.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** (attempt - 1))))
    left = len(request.get(table, {}).get("Keys", []))
    raise TransientTargetError(
        f"rollback of {table}: BatchGetItem still left {left} key(s) unprocessed after {UNPROCESSED_ATTEMPTS} attempts",
        hint="DynamoDB is throttling the reads: raise the table's read capacity (or use on-demand) or lower "
        "--workers, then run the rollback again (it skips what it already undid)",
        table=table,
    )


Batch = list[tuple[dict[str, Any], str | None, dict[str, Any] | None]]


def _classify_batch(
    client: Any, table: str, batch: Batch, marker_attr: str
) -> list[tuple[dict[str, Any], str | None, dict[str, Any] | None, dict[str, Any] | None, str]]:
    """(key, marker, old image, current item, outcome) for a batch of written keys."""
    current = _current_items(client, table, list({key_string(k): k for k, _, _ in batch}.values()))
    out = []
    for k, m, o in batch:
        cur = current.get(key_string(k))
        outcome = "no_marker" if not m else _classify_current(cur, m, o, marker_attr)
        out.append((k, m, o, cur, outcome))
    return out


def _dry_run_table(client: Any, table: str, keys: _RunKeys, tr: TableRollback, marker_attr: str) -> None:
    for batch in keys.iter(100):
        for k, _m, _o, cur, outcome in _classify_batch(client, table, batch, marker_attr):
            _count(tr, outcome, k, cur, marker_attr)


def _count(tr: TableRollback, outcome: str, key: Any, current: Any, marker_attr: str) -> None:
    """Add one item's outcome (``delete``, ``restore``, ``no_marker`` or a skip reason) to ``tr``."""
    if outcome == "delete":
        tr.deleted += 1
    elif outcome == "restore":
        tr.restored += 1
    elif outcome == "no_marker":
        tr.no_marker += 1
    else:
        _note(tr, outcome, key, current, marker_attr)


def _undelete(client: Any, table: str, keys: _RunKeys, tr: TableRollback, dry_run: bool) -> None:
    """Put back the items the run deleted, on condition that nobody re-created them since."""
    for batch in keys.iter_deleted(100):
        current = _current_items(client, table, [k for k, _ in batch])
        for key, image in batch:
            if current.get(key_string(key)) is not None:
                _note(tr, "changed", key, current.get(key_string(key)), "")
                continue
            if dry_run:
                tr.undeleted += 1
                continue
            names = {f"#k{i}": n for i, n in enumerate(key)}
            try:
                _call(
                    client.put_item,
                    TableName=table,
                    Item=image,
                    ConditionExpression=" AND ".join(f"attribute_not_exists({n})" for n in names),
                    ExpressionAttributeNames=names,
                )
                tr.undeleted += 1
            except Exception as exc:
                if _error_code(exc) == "ConditionalCheckFailedException":
                    _note(tr, "changed", key, None, "")
                else:
                    tr.errors += 1
                    if len(tr.error_messages) < MAX_LISTED:
                        tr.error_messages.append(f"{plain_key(key)}: {exc}")


#: keep condition expressions well under DynamoDB's 4 KB expression limit
_MAX_CONDITION_CHARS = 3000
_SCALARS = ("S", "N", "B", "BOOL", "NULL")


def _condition(current: dict[str, Any], marker: str, marker_attr: str, key: dict[str, Any]) -> dict[str, Any]:
    """``#m = :m`` plus equality on the item's scalar attributes: an update between our read and our
    write fails the condition (the fingerprint check covers documents and sets)."""
    names = {"#m": marker_attr}
    values: dict[str, Any] = {":m": {"S": marker}}
    parts = ["#m = :m"]
    length = len(parts[0])
    for i, (name, value) in enumerate(sorted(current.items())):
        if name == marker_attr or name in key or next(iter(value)) not in _SCALARS:
            continue
        part = f"#a{i} = :a{i}"
        if length + len(part) + 5 > _MAX_CONDITION_CHARS:
            break
        names[f"#a{i}"] = name
        values[f":a{i}"] = value
        parts.append(part)
        length += len(part) + 5
    return {
        "ConditionExpression": " AND ".join(parts),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _undo_one(
    client: Any,
    table: str,
    key: dict[str, Any],
    marker: str,
    old: dict[str, Any] | None,
    current: dict[str, Any],
    marker_attr: str,
) -> tuple[str, dict[str, Any] | None]:
    cond = _condition(current, marker, marker_attr, key)
    try:
        if old is not None:
            _call(client.put_item, TableName=table, Item=old, **cond)
            return "restore", None
        _call(client.delete_item, TableName=table, Key=key, **cond)
        return "delete", None
    except Exception as exc:
        if _error_code(exc) != "ConditionalCheckFailedException":
            raise
        now = getattr(exc, "response", {}).get("Item")
        return ("gone" if now is None else "changed"), now


def _rollback_table(
    client: Any, table: str, keys: _RunKeys, tr: TableRollback, marker_attr: str, workers: int
) -> None:
    def work(batch: Batch) -> list[Any]:
        out: list[Any] = []
        try:
            classified = _classify_batch(client, table, batch, marker_attr)
        except Exception as exc:
            return [(k, "error", None, f"{plain_key(k)}: {exc}") for k, _, _ in batch]
        for k, m, o, cur, outcome in classified:
            if outcome not in ("delete", "restore"):
                out.append((k, outcome, cur, None))
                continue
            assert m is not None and cur is not None
            try:
                result, now = _undo_one(client, table, k, m, o, cur, marker_attr)
                out.append((k, result, now, None))
            except Exception as exc:
                out.append((k, "error", None, f"{plain_key(k)}: {exc}"))
        return out

    def collect(results: list[Any]) -> None:
        for k, outcome, current, err in results:
            if outcome == "error":
                tr.errors += 1
                if len(tr.error_messages) < MAX_LISTED:
                    tr.error_messages.append(str(err))
            else:
                _count(tr, outcome, k, current, marker_attr)

    with cf.ThreadPoolExecutor(max(1, workers)) as pool:
        pending: set[cf.Future[Any]] = set()
        for batch in keys.iter(50):
            pending.add(pool.submit(work, batch))
            while len(pending) >= 2 * workers:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    collect(f.result())
        for f in cf.as_completed(pending):
            collect(f.result())


__all__ = ["RollbackReport", "TableRollback", "rollback_run"]
