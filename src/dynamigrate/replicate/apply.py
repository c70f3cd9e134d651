"""Apply a window of row changes: recompute exactly the affected items, write them like sync mode.

For a window (coalesced: a key changed ten times is recomputed once):

1. the affected source keys per entity (:mod:`dynamigrate.replicate.affected`): the changed rows'
   own keys (before and after images) and the keys of every row related to them through the contract;
2. the items of those keys from the current source with the reference evaluator
   (``Evaluator.items_for_source_keys``; keys without a source row give no item);
3. the keys the items had before: the before images put in a TEMPORARY table that shadows the base
   table on the evaluator's connection, evaluated the same way (a delete, a key change, a change of a
   joined row that feeds the item key);
4. writes with :class:`~dynamigrate.target.writer.TableWriter` in ``sync`` mode (absent -> put;
   ours and unchanged since -> replaced or left when equal; anyone else's -> conflict, left alone);
5. old keys no longer produced by any row -> deleted when the migration owns them (marker present and
   the content still matches its fingerprint), else a conflict.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.contract.model import Contract, Entity, Table
from dynamigrate.evaluate import EvalRow, Evaluator
from dynamigrate.replicate.affected import Dependencies, DepLink, dependencies, quote, related_queries
from dynamigrate.runstate import RunDir
from dynamigrate.target.encode import Encoded, Item, fingerprint, key_for_report, parse_marker
from dynamigrate.target.retry import RetryPolicy
from dynamigrate.target.writer import RunDirSink, TableWriter, WriteMode, WriterOptions, delete_if_marker

log = logging.getLogger(__name__)

CONFLICTS_FILE = "replicate/conflicts.jsonl"
REJECTED_FILE = "replicate/rejected.jsonl"


@dataclass(frozen=True)
class RowChange:
    table: str
    kind: str  # insert | update | delete
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass
class ApplyStats:
    rows: int = 0
    items_recomputed: int = 0
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    conflicts: int = 0
    rejected: int = 0
    conflict_keys: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: ApplyStats) -> None:
        for name in ("rows", "items_recomputed", "written", "unchanged", "deleted", "conflicts", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.conflict_keys = (self.conflict_keys + other.conflict_keys)[-100:]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "items_recomputed": self.items_recomputed,
            "written": self.written,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
        }


class _Sink(RunDirSink):
    """The run's written/ log (rollback), conflicts and rejections under replicate/."""

    def __init__(self, run: RunDir, table: str, stats: ApplyStats, lock: threading.Lock):
        super().__init__(run, table)
        self.stats = stats
        self.lock = lock

    def on_conflict(self, key: Item, reason: str) -> None:
        record = {"table": self.table, "key": key_for_report(key), "reason": reason}
        self.run.append(CONFLICTS_FILE, record)
        with self.lock:
            self.stats.conflicts += 1
            self.stats.conflict_keys.append(record)

    def on_rejected(
        self, encoded_or_key: Encoded | Item, reason: str, code: str, message: str | None
    ) -> None:
        key = encoded_or_key.key if isinstance(encoded_or_key, Encoded) else encoded_or_key
        self.run.append(
            REJECTED_FILE, {"table": self.table, "key": key_for_report(key), "reason": reason, "code": code}
        )
        with self.lock:
            self.stats.rejected += 1


def _ci(image: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in image.items()}


def _key_of(image: Mapping[str, Any], cols: tuple[str, ...]) -> tuple[Any, ...]:
    low = _ci(image)
    return tuple(low.get(c.lower()) for c in cols)


def _row_value(v: Any) -> Any:
    if isinstance(v, (set, frozenset)):
        return ",".join(sorted(str(x) for x in v))
    return v


class Applier:
    """Recomputes and writes the items a window of row changes affects (one per replicate process)."""

    def __init__(
        self,
        contract: Contract,
        tables: tuple[Table, ...],
        conn_factory: Callable[[], Any],
        client: Any,
        run: RunDir,
        *,
        run_id: str,
        marker_attribute: str = "_dm_marker",
        concurrency: int = 8,
    ):
        self.contract = contract
        self.tables = tables
        self.deps: Dependencies = dependencies(contract, tables)
        self.conn_factory = conn_factory
        self.conn = conn_factory()
        self.client = client
        self.run = run
        self.marker = marker_attribute
        self.policy = RetryPolicy()
        self._lock = threading.Lock()
        self.stats = ApplyStats()  # of the current window
        self._names: dict[str, str] = {}  # lower-case table name -> as the binlog names it
        self.evaluators = {t.name: Evaluator(conn_factory, contract, t) for t in tables}
        opts = WriterOptions(
            mode=WriteMode.SYNC, run_id=run_id, marker_attribute=marker_attribute, concurrency=concurrency
        )
        self.writers = {
            t.name: TableWriter(client, t.name, t, opts, _Sink(run, t.name, self.stats, self._lock))
            for t in tables
        }

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        for ev in self.evaluators.values():
            ev.close()
        self.conn.close()

    def watched_tables(self) -> set[str]:
        return self.deps.tables()

    # -- one window ---------------------------------------------------------------------------------
    def apply(self, changes: Iterable[RowChange]) -> ApplyStats:
        stats = ApplyStats()
        for sink_writer in self.writers.values():
            sink = sink_writer.sink
            assert isinstance(sink, _Sink)
            sink.stats = stats
        targets: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
        # before images per changed table: own rows (old item keys) and key-feeding joined rows
        befores: dict[str, list[Mapping[str, Any]]] = {}
        moved: dict[str, list[tuple[DepLink, set[tuple[Any, ...]]]]] = {}
        for ch in changes:
            stats.rows += 1
            t = ch.table.lower()
            if ch.before is not None:
                befores.setdefault(t, []).append(ch.before)
                self._names[t] = ch.table  # the server's spelling (table names are case-sensitive on Linux)
            for own in self.deps.own.get(t, []):
                ev = self.evaluators[own.table.name]
                cols = ev.key_columns(own.entity)
                keys = targets.setdefault((own.table.name, own.entity.entity_type), set())
                for image in (ch.before, ch.after):
                    if image is not None:
                        keys.add(_key_of(image, cols))
            for dep in self.deps.deps.get(t, []):
                ev = self.evaluators[dep.table.name]
                cols = ev.key_columns(dep.entity)
                keys = targets.setdefault((dep.table.name, dep.entity.entity_type), set())
                for image in (ch.before, ch.after):
                    if image is None:
                        continue
                    found = self._related(dep, cols, image)
                    keys |= found
                    if dep.key_attribute and image is ch.before and found:
                        moved.setdefault(t, []).append((dep, found))

        old_keys = self._old_item_keys(befores, moved)
        new_keys: dict[str, set[tuple[Any, ...]]] = {}
        for table in self.tables:
            ev = self.evaluators[table.name]
            encoded: list[Encoded] = []
            for entity in table.entities:
                wanted = targets.get((table.name, entity.entity_type))
                if not wanted:
                    continue
                for r in ev.items_for_source_keys(entity, sorted(wanted, key=repr)):
                    e = self._encoded(table, entity, r)
                    encoded.append(e)
                    new_keys.setdefault(table.name, set()).add(_kid(e.key))
            if encoded:
                stats.items_recomputed += len(encoded)
                res = self.writers[table.name].write_batch(encoded)
                stats.written += res.written
                stats.unchanged += res.unchanged
        for table_name, keys_ in old_keys.items():
            gone = {kid: key for kid, key in keys_.items() if kid not in new_keys.get(table_name, set())}
            still = self._still_produced(table_name, gone, stats) if gone else set()
            for kid, key in gone.items():
                if kid not in still:
                    self._delete(table_name, key, stats)
        self.stats.add(stats)
        return stats

    def _still_produced(
        self, table_name: str, gone: dict[tuple[Any, ...], Item], stats: ApplyStats
    ) -> set[tuple[Any, ...]]:
        """Item keys about to be deleted that another current source row still produces (two rows of
        one key, e.g. in a table without a primary key: deleting one must not delete the item). Found
        for entities whose key attributes are plain columns of their source table; that row's item
        is written instead. Returns the keys kept."""
        table = next(t for t in self.tables if t.name == table_name)
        ev = self.evaluators[table_name]
        kept: set[tuple[Any, ...]] = set()
        encoded: list[Encoded] = []
        for entity in table.entities:
            cols: list[str] = []
            for name in table.key_names:
                a = entity.attribute(name)
                if (
                    a is None
                    or a.join
                    or a.calculation
                    or a.transformation
                    or not isinstance(a.source_column, str)
                ):
                    break
                cols.append(a.source_column)
            else:
                key_cols = ev.key_columns(entity)
                head = (
                    f"SELECT {', '.join(quote(c) for c in key_cols)} FROM {quote(entity.source_table)} WHERE "
                )
                one = "(" + " AND ".join(f"{quote(c)} = %s" for c in cols) + ")"
                wanted = [(kid, key) for kid, key in gone.items() if kid not in kept]
                for at in range(0, len(wanted), 500):
                    batch = wanted[at : at + 500]
                    params = [next(iter(key[n].values())) for _, key in batch for n in table.key_names]
                    with self.conn.cursor() as cur:
                        cur.execute(head + " OR ".join([one] * len(batch)), params)
                        rows = [tuple(r) for r in cur.fetchall()]
                    for r in ev.items_for_source_keys(entity, rows) if rows else []:
                        e = self._encoded(table, entity, r)
                        kid = _kid(e.key)
                        if e.item is not None and kid in gone and kid not in kept:
                            encoded.append(e)
                            kept.add(kid)
        if encoded:
            stats.items_recomputed += len(encoded)
            res = self.writers[table_name].write_batch(encoded)
            stats.written += res.written
            stats.unchanged += res.unchanged
        return kept

    def _related(self, dep: DepLink, cols: tuple[str, ...], image: Mapping[str, Any]) -> set[tuple[Any, ...]]:
        out: set[tuple[Any, ...]] = set()
        for sql, params in related_queries(dep, cols, image):
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                out |= {tuple(r) for r in cur.fetchall()}
        return out

    def _encoded(self, table: Table, entity: Entity, r: EvalRow) -> Encoded:
        if r.item is None:
            key = {k: {"S": str(v)} for k, v in zip(("source_key",), (r.source_key,), strict=False)}
            return Encoded(
                item=None,
                key=key,
                reject_reason=r.rejection or "rejected",
                reject_code=r.code or "rejected",
                entity=entity.entity_type,
            )
        key = {k: r.item[k] for k in table.key_names if k in r.item}
        return Encoded(
            item=r.item,
            key=key,
            fingerprint=fingerprint(r.item),
            omitted_gsi_keys=tuple(r.omitted_gsi_keys),
            entity=entity.entity_type,
        )

    # -- keys before the change -----------------------------------------------------------------------
    def _old_item_keys(
        self,
        befores: dict[str, list[Mapping[str, Any]]],
        moved: dict[str, list[tuple[DepLink, set[tuple[Any, ...]]]]],
    ) -> dict[str, dict[tuple[Any, ...], Item]]:
        out: dict[str, dict[tuple[Any, ...], Item]] = {}
        for t, images in befores.items():
            wanted: list[tuple[Table, Entity, list[tuple[Any, ...]]]] = []
            for own in self.deps.own.get(t, []):
                cols = self.evaluators[own.table.name].key_columns(own.entity)
                wanted.append((own.table, own.entity, [_key_of(i, cols) for i in images]))
            keep: set[tuple[Any, ...]] = set()
            for dep, keys in moved.get(t, []):
                wanted.append((dep.table, dep.entity, sorted(keys, key=repr)))
                if dep.entity.source_table.lower() == t:
                    keep |= keys  # a self-reference: the related rows themselves live in the shadow
            if not wanted:
                continue
            key_cols = self._row_key_columns(t, images)
            for layer in _layers(images, key_cols):
                for table, entity, source_keys in wanted:
                    ev = self.evaluators[table.name]
                    with contextlib.ExitStack() as stack:
                        stack.enter_context(
                            _Shadow(
                                ev.conn, self._names[t], layer, _seed_keys(self._names[t], key_cols, keep)
                            )
                        )
                        # other tables changed in the window that feed this entity's key: their rows
                        # as they were too (the related current rows, then their first before images)
                        for dep in self._key_feeders(entity, t, befores):
                            u = dep.steps[-1].target.lower()
                            seed = _seed_related(dep, ev.key_columns(entity), source_keys)
                            first = _layers(befores[u], self._row_key_columns(u, befores[u]))[0]
                            stack.enter_context(_Shadow(ev.conn, self._names[u], first, seed))
                        rows = ev.items_for_source_keys(entity, source_keys)
                    for r in rows:
                        if r.item is None:
                            continue
                        key = {k: r.item[k] for k in table.key_names if k in r.item}
                        if len(key) == len(table.key_names):
                            out.setdefault(table.name, {})[_kid(key)] = key
        return out

    def _key_feeders(
        self, entity: Entity, t: str, befores: dict[str, list[Mapping[str, Any]]]
    ) -> list[DepLink]:
        out: list[DepLink] = []
        seen: set[str] = {t}
        for u in befores:
            if u in seen:
                continue
            for dep in self.deps.deps.get(u, []):
                if (
                    dep.entity is entity
                    and dep.key_attribute
                    and len(dep.steps) == 1
                    and dep.entity.source_table.lower() != u
                ):
                    out.append(dep)
                    seen.add(u)
                    break
        return out

    def _row_key_columns(self, t: str, images: list[Mapping[str, Any]]) -> tuple[str, ...]:
        for own in self.deps.own.get(t, []):
            return self.evaluators[own.table.name].key_columns(own.entity)
        return tuple(images[0].keys()) if images else ()

    def _delete(self, table_name: str, key: Item, stats: ApplyStats) -> None:
        resp = self.policy.call(
            self.client.get_item,
            TableName=table_name,
            Key=key,
            ConsistentRead=True,
            what=f"GetItem {table_name}",
        )
        current = resp.get("Item")
        if not current:
            return
        parsed = parse_marker(current.get(self.marker))
        reason = None
        if parsed is None:
            reason = "not_written_by_migration"
        elif fingerprint(current, self.marker) != parsed[1]:
            reason = "changed_since_migration_wrote_it"
        else:
            outcome = delete_if_marker(
                self.client, table_name, key, current[self.marker]["S"], self.marker, self.policy
            )
            if outcome:
                stats.deleted += 1
                return
            if outcome.outcome == "absent":
                return
            reason = "changed_concurrently"
        record = {"table": table_name, "key": key_for_report(key), "reason": reason, "action": "delete"}
        self.run.append(CONFLICTS_FILE, record)
        stats.conflicts += 1
        stats.conflict_keys.append(record)


def _kid(key: Item) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in key.items()))


def _layers(images: list[Mapping[str, Any]], key_cols: tuple[str, ...]) -> list[list[Mapping[str, Any]]]:
    """Images split so that no layer holds two images of the same row key (a unique temporary table)."""
    layers: list[list[Mapping[str, Any]]] = []
    seen: dict[tuple[Any, ...], int] = {}
    distinct: set[tuple[Any, ...]] = set()
    for image in images:
        whole = tuple(sorted((k, repr(v)) for k, v in image.items()))
        if whole in distinct:
            continue
        distinct.add(whole)
        k = _key_of(image, key_cols)
        n = seen.get(k, 0)
        seen[k] = n + 1
        while len(layers) <= n:
            layers.append([])
        layers[n].append(image)
    return layers


def _seed_keys(t: str, key_cols: tuple[str, ...], keep: set[tuple[Any, ...]]) -> list[tuple[str, list[Any]]]:
    """SELECTs of the current rows of ``t`` with these keys (to copy into its shadow)."""
    if not keep or not key_cols:
        return []
    cols = ", ".join(quote(c) for c in key_cols)
    one = "(" + ", ".join(["%s"] * len(key_cols)) + ")"
    ordered = sorted(keep, key=repr)
    out = []
    for start in range(0, len(ordered), 500):
        batch = ordered[start : start + 500]
        out.append(
            (
                f"SELECT * FROM {quote(t)} WHERE ({cols}) IN ({', '.join([one] * len(batch))})",
                [v for k in batch for v in k],
            )
        )
    return out


def _seed_related(
    dep: DepLink, key_cols: tuple[str, ...], source_keys: list[tuple[Any, ...]]
) -> list[tuple[str, list[Any]]]:
    """SELECTs of the rows of the joined table related to these source rows (to copy into its shadow)."""
    step = dep.steps[-1]
    source = quote(dep.entity.source_table)
    alias = f" AS {quote(step.qualifier)}" if step.qualifier != step.target else ""
    cols = ", ".join(f"{source}.{quote(c)}" for c in key_cols)
    one = "(" + ", ".join(["%s"] * len(key_cols)) + ")"
    out = []
    for start in range(0, len(source_keys), 500):
        batch = source_keys[start : start + 500]
        out.append(
            (
                f"SELECT DISTINCT {quote(step.qualifier)}.* FROM {source} JOIN {quote(step.target)}{alias} "
                f"ON {step.condition.replace('%', '%%')} WHERE ({cols}) IN ({', '.join([one] * len(batch))})",
                [v for k in batch for v in k],
            )
        )
    return out


class _Shadow:
    """A TEMPORARY table named like base table ``t`` on ``conn`` (it hides the base table for that
    connection only; temporary tables are not written to a ROW binlog): the rows of the ``seed``
    SELECTs, then ``images`` in place of the rows they describe."""

    def __init__(
        self,
        conn: Any,
        t: str,
        images: list[Mapping[str, Any]],
        seed: list[tuple[str, list[Any]]] | None = None,
    ):
        self.conn, self.t, self.images, self.seed = conn, t, images, seed or []

    def __enter__(self) -> _Shadow:
        name = quote(self.t)
        with self.conn.cursor() as cur:
            # LIKE cannot name the table it creates: a temporary copy of the structure, then renamed
            tmp = quote(f"_dm_shadow_{self.t}")
            cur.execute(f"CREATE TEMPORARY TABLE {tmp} LIKE {name}")
            for sql, params in self.seed:
                cur.execute(f"INSERT IGNORE INTO {tmp} {sql}", params)
            for image in self.images:
                cols = list(image)
                cur.execute(
                    f"REPLACE INTO {tmp} ({', '.join(quote(c) for c in cols)}) "
                    f"VALUES ({', '.join(['%s'] * len(cols))})",
                    [_row_value(image[c]) for c in cols],
                )
            cur.execute(f"ALTER TABLE {tmp} RENAME TO {name}")
        return self

    def __exit__(self, *exc: object) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {quote(self.t)}")
