"""The evaluator at run time: fetch the slots of a plan per chunk of source rows and build the items."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.contract.model import Contract, Entity, Table
from dynamigrate.evaluate.fragments import ROW_ALIAS, EvaluationUnsupported, quote
from dynamigrate.evaluate.nodes import Accumulator, SlotRow, V, weighted_key
from dynamigrate.evaluate.plan import Planner
from dynamigrate.evaluate.schema import Catalog, match_key, sort_key
from dynamigrate.evaluate.slots import OTHER_ALIAS, SOURCE, Plan, Slot, weight_sql
from dynamigrate.evaluate.values import (
    MAX_ITEM_BYTES,
    DdbValue,
    Item,
    Reject,
    item_size,
    json_text,
    json_to_ddb,
    key_too_long,
    nesting_checked,
    to_ddb,
)

#: The encoder reserves this many bytes for the migration marker when it checks the 400 KB limit
#: (attribute name ``_dm_marker`` plus a 64-byte value budget).
DEFAULT_MARKER_OVERHEAD = len("_dm_marker") + 64
#: Value tuples per ``IN`` list.
IN_BATCH = 500

#: (code, reason): why an attribute rejects its row
_Rejection = tuple[str, str]

_TEMPORAL_TYPES = {7, 10, 11, 12}  # TIMESTAMP, DATE, TIME, DATETIME
_DECIMAL_TYPES = {0, 246}


@dataclass
class EvalRow:
    """One source row computed by the evaluator: the item (low-level DynamoDB JSON, no marker) or the
    reason it cannot be one."""

    source_key: tuple[Any, ...]
    item: Item | None
    rejection: str | None = None
    code: str | None = None
    entity: str = ""
    omitted_gsi_keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: a rejected row's table key (low-level), when its key attributes could be computed (a non-key
    #: attribute rejects it); None for items (their key is in ``item``) and for rows whose key fails
    key: Item | None = None

    @property
    def ok(self) -> bool:
        return self.rejection is None


def _fsp(description: Sequence[Any]) -> list[int | None]:
    out: list[int | None] = []
    for d in description:
        type_code, scale = d[1], d[5]
        out.append(
            int(scale) if type_code in _TEMPORAL_TYPES | _DECIMAL_TYPES and scale is not None else None
        )
    return out


def _after(key: Sequence[str], last: Sequence[Any]) -> tuple[str, list[Any]]:
    """``key > last`` written out (``a > x OR (a = x AND b > y)``): MariaDB 10.11 scans the whole index
    for a row-value comparison ``(a, b) > (x, y)`` but uses a range for this form."""
    cols = [f"{quote(ROW_ALIAS)}.{quote(k)}" for k in key]
    ors: list[str] = []
    params: list[Any] = []
    for i in range(len(cols)):
        parts = [f"{c} = %s" for c in cols[:i]] + [f"{cols[i]} > %s"]
        ors.append("(" + " AND ".join(parts) + ")")
        params += list(last[: i + 1])
    return "(" + " OR ".join(ors) + ")", params


class _Ctx:
    def __init__(self, ev: _Chunk, i: int):
        self.ev = ev
        self.i = i

    def one(self, slot: str) -> SlotRow | None:
        return self.ev.one[slot][self.i]

    def null_row(self, slot: str) -> SlotRow:
        return self.ev.owner.null_row(self.ev.plan.slots[slot])

    def many(self, slot: str) -> list[SlotRow]:
        return self.ev.many[slot][self.i]

    def folded(self, slot: str) -> V:
        return self.ev.folded[slot][self.i]


@dataclass
class _Chunk:
    owner: Evaluator
    plan: Plan
    one: dict[str, list[SlotRow | None]]
    many: dict[str, list[list[SlotRow]]]
    notes: list[list[str]]
    folded: dict[str, list[V]] = field(default_factory=dict)


class Evaluator:
    """Reference evaluator of one contract table (see the package docstring for the API)."""

    def __init__(
        self,
        conn_factory: Callable[[], Any],
        contract: Contract | None,
        table: Table | str,
        *,
        marker_overhead: int = DEFAULT_MARKER_OVERHEAD,
    ):
        if isinstance(table, str):
            if contract is None:
                raise ValueError("a table name needs the contract")
            table = contract.table(table)
        self.table = table
        self._factory = conn_factory
        self.conn = conn_factory()
        self.catalog = Catalog(self.conn)
        self.marker_overhead = marker_overhead
        self._plans: dict[str, Plan] = {}
        self._null_rows: dict[int, SlotRow] = {}
        self._stream: Any = None  # a second connection for unbuffered reads (aggregates, keyless tables)
        with self.conn.cursor() as cur:
            cur.execute("SELECT @@div_precision_increment")
            self.div_precision = int(cur.fetchone()[0])

    def close(self) -> None:
        self.conn.close()
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _stream_rows(
        self, sql: str, params: Sequence[Any]
    ) -> Iterator[tuple[tuple[Any, ...], list[int | None]]]:
        """Rows of ``sql`` read unbuffered (never all in memory), each with the result's fsp list."""
        import pymysql.cursors

        if self._stream is None:
            self._stream = self._factory()
        cur = self._stream.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(sql, tuple(params))
            fsp = _fsp(cur.description or ())
            while True:
                batch = cur.fetchmany(1000)
                if not batch:
                    break
                for row in batch:
                    yield tuple(row), fsp
        finally:
            cur.close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plans --------------------------------------------------------------------------------------

    def entity(self, entity: Entity | str | None = None) -> Entity:
        if isinstance(entity, Entity):
            return entity
        if entity is None:
            if len(self.table.entities) != 1:
                raise ValueError(f"table {self.table.name} has several entities: name one")
            return self.table.entities[0]
        for e in self.table.entities:
            if e.entity_type == entity:
                return e
        raise KeyError(f"no entity {entity!r} in table {self.table.name}")

    def plan(self, entity: Entity | str | None = None) -> Plan:
        e = self.entity(entity)
        if e.entity_type not in self._plans:
            self._plans[e.entity_type] = Planner(self.catalog, self.table, e, self.div_precision).plan()
        return self._plans[e.entity_type]

    def key_columns(self, entity: Entity | str | None = None) -> tuple[str, ...]:
        """The columns of ``EvalRow.source_key`` (the row key; every column when the table has none)."""
        plan = self.plan(entity)
        src = plan.source.table
        return src.row_key or tuple(c.name for c in src.columns.values())

    # -- public API ---------------------------------------------------------------------------------

    def count_source(self, entity: Entity | str | None = None) -> int:
        plan = self.plan(entity)
        sql = f"SELECT COUNT(*) FROM {quote(plan.source.table.name)} AS {quote(ROW_ALIAS)}"
        if plan.filter_sql:
            sql += f" WHERE {plan.filter_sql}"
        with self.conn.cursor() as cur:
            cur.execute(sql, ())  # always a tuple: the plan's '%' are doubled (fragments.quote)
            return int(cur.fetchone()[0])

    def iter_items(self, entity: Entity | str | None = None, chunk_rows: int = 1000) -> Iterator[EvalRow]:
        plan = self.plan(entity)
        src = plan.source
        key = src.table.row_key
        select = self._source_select(plan)
        if not key:
            yield from self._one_pass(plan, select, chunk_rows)
            return
        n = len(key)
        key_sql = ", ".join(f"{quote(ROW_ALIAS)}.{quote(k)}" for k in key)
        last: tuple[Any, ...] | None = None
        while True:
            conds = [plan.filter_sql] if plan.filter_sql else []
            params: list[Any] = []
            if last is not None:
                after, after_params = _after(key, last)
                conds.append(after)
                params += after_params
            sql = select + (f" WHERE {' AND '.join(conds)}" if conds else "")
            sql += f" ORDER BY {key_sql} LIMIT {int(chunk_rows)}"
            rows, fsp = self._query(sql, params)
            if not rows:
                return
            yield from self._evaluate(plan, rows, fsp)
            last = tuple(rows[-1][:n])
            if len(rows) < chunk_rows:
                return

    def items_for_source_keys(
        self, entity: Entity | str | None, keys: Iterable[Sequence[Any]], chunk_rows: int = 500
    ) -> list[EvalRow]:
        """The rows with these source keys (``key_columns`` order), in the order given; keys with no
        source row (deleted, or excluded by the filter) are left out."""
        plan = self.plan(entity)
        cols = self.key_columns(entity)
        wanted = [tuple(k) for k in keys]
        found: dict[Any, EvalRow] = {}
        select = self._source_select(plan)
        for start in range(0, len(wanted), chunk_rows):
            batch = wanted[start : start + chunk_rows]
            conds = [plan.filter_sql] if plan.filter_sql else []
            params: list[Any] = []
            if plan.source.table.row_key:
                row_sql = ", ".join(f"{quote(ROW_ALIAS)}.{quote(c)}" for c in cols)
                tuple_sql = "(" + ", ".join(["%s"] * len(cols)) + ")"
                conds.append(f"({row_sql}) IN ({', '.join([tuple_sql] * len(batch))})")
                for k in batch:
                    params += list(k)
            else:
                ors = []
                for k in batch:
                    ors.append(
                        "(" + " AND ".join(f"{quote(ROW_ALIAS)}.{quote(c)} <=> %s" for c in cols) + ")"
                    )
                    params += list(k)
                conds.append("(" + " OR ".join(ors) + ")")
            rows, fsp = self._query(select + " WHERE " + " AND ".join(conds), params)
            for r in self._evaluate(plan, rows, fsp):
                found.setdefault(self._key_norm(plan, r.source_key), r)
        out = []
        for k in wanted:
            hit = found.get(self._key_norm(plan, k))
            if hit is not None:
                out.append(hit)
        return out

    def sample(self, entity: Entity | str | None, n: int, seed: int = 0) -> list[EvalRow]:
        """``n`` source rows drawn at random (reproducible with ``seed``); every row when fewer."""
        plan = self.plan(entity)
        cols = self.key_columns(entity)
        sql = f"SELECT {', '.join(f'{quote(ROW_ALIAS)}.{quote(c)}' for c in cols)} FROM {quote(plan.source.table.name)} AS {quote(ROW_ALIAS)}"
        if plan.filter_sql:
            sql += f" WHERE {plan.filter_sql}"
        sql += f" ORDER BY RAND({int(seed)}) LIMIT {int(n)}"
        rows, _ = self._query(sql, [])
        rng = random.Random(seed)
        keys = [tuple(r) for r in rows]
        rng.shuffle(keys)
        return self.items_for_source_keys(entity, keys)

    # -- fetching -----------------------------------------------------------------------------------

    def _key_norm(self, plan: Plan, key: Sequence[Any]) -> tuple[Any, ...]:
        cols = self.key_columns(plan.entity)
        out = []
        for c, v in zip(cols, key, strict=False):
            col = plan.source.table.column(c)
            out.append(match_key(v, col, bool(col and col.numeric)))
        return tuple(out)

    def _source_select(self, plan: Plan) -> str:
        src = plan.source
        return f"SELECT {', '.join(src.exprs)} FROM {quote(src.table.name)} AS {quote(ROW_ALIAS)}"

    def _query(self, sql: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], list[int | None]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            rows = list(cur.fetchall())
            return rows, _fsp(cur.description or ())

    def _one_pass(self, plan: Plan, select: str, chunk_rows: int) -> Iterator[EvalRow]:
        import pymysql.cursors

        sql = select + (f" WHERE {plan.filter_sql}" if plan.filter_sql else "")
        stream = self._factory()
        try:
            cur = stream.cursor(pymysql.cursors.SSCursor)
            cur.execute(sql, ())
            fsp = _fsp(cur.description or ())
            while True:
                rows = cur.fetchmany(chunk_rows)
                if not rows:
                    break
                yield from self._evaluate(plan, list(rows), fsp)
            cur.close()
        finally:
            stream.close()

    def null_row(self, slot: Slot) -> SlotRow:
        """The slot's expressions over an all-NULL row (a LEFT JOIN that found nothing)."""
        cached = self._null_rows.get(id(slot))
        if cached is None:
            if slot.exprs:
                sql = (
                    f"SELECT {', '.join(slot.exprs)} FROM (SELECT 1) AS `_dm_one` "
                    f"LEFT JOIN {quote(slot.table.name)} AS {quote(ROW_ALIAS)} ON 1 = 0"
                )
                rows, fsp = self._query(sql, [])
                cached = SlotRow(rows[0], fsp)
            else:
                cached = SlotRow((), ())
            self._null_rows[id(slot)] = cached
        return cached

    def _fetch_slot(self, plan: Plan, slot: Slot, chunk: _Chunk, n: int) -> None:
        numeric = []
        cols = []
        for p in slot.pairs:
            col = slot.table.column(p.column)
            other_table = plan.slots[p.other].table
            other = other_table.column(p.other_column) if p.other_column else None
            cols.append(col)
            numeric.append(bool((col and col.numeric) or (other and other.numeric)))

        def norm(values: Sequence[Any], weights: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(
                ("w", bytes(w)) if isinstance(w, bytes | bytearray) else match_key(v, c, num)
                for v, w, c, num in zip(values, weights, cols, numeric, strict=True)
            )

        # the value tuple each source row looks for, and its matching key (None: it cannot match)
        wants: list[tuple[Any, ...] | None] = []
        want_keys: list[tuple[Any, ...] | None] = []
        for i in range(n):
            values: list[Any] | None = []
            weights: list[Any] = []
            for p in slot.pairs:
                row = chunk.one[p.other][i]
                v = row.values[p.index] if row is not None else None
                if v is None or row is None:
                    values = None
                    break
                assert values is not None
                values.append(v)
                weights.append(row.values[p.weight_index] if p.weight_index is not None else None)
            if values is not None:
                for gslot, gidx in slot.gates:
                    grow = chunk.one[gslot][i] or self.null_row(plan.slots[gslot])
                    if grow.values[gidx] in (None, 0):
                        values = None
                        break
            wants.append(tuple(values) if values is not None else None)
            want_keys.append(norm(values, weights) if values is not None else None)

        distinct: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for w, k in zip(wants, want_keys, strict=True):
            if w is not None and k is not None:
                distinct.setdefault(k, w)
        index: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], SlotRow]]] = {}
        pk = slot.table.primary_key if slot.aggregate is None else ()
        npairs, npk = len(slot.pairs), len(pk)
        agg = slot.aggregate
        accs: dict[tuple[Any, ...], Accumulator] = {}
        head = [f"{quote(ROW_ALIAS)}.{quote(p.column)}" for p in slot.pairs]
        head += [
            weight_sql(f"{quote(ROW_ALIAS)}.{quote(p.column)}", p.collation)
            if p.weight_index is not None
            else "NULL"
            for p in slot.pairs
        ]
        # the primary key orders related rows (after order_by): text by its collation weight
        for key_col in pk:
            col = slot.table.column(key_col)
            ref = f"{quote(ROW_ALIAS)}.{quote(key_col)}"
            head.append(
                f"WEIGHT_STRING(TRIM(TRAILING ' ' FROM {ref}))" if col is not None and col.text else ref
            )
        select = f"SELECT {', '.join(head + slot.exprs)} FROM {quote(slot.table.name)} AS {quote(ROW_ALIAS)}"
        tuples = list(distinct.values())
        pair_sql = ", ".join(head[:npairs])
        for start in range(0, len(tuples), IN_BATCH):
            batch = tuples[start : start + IN_BATCH]
            one = "(" + ", ".join(["%s"] * npairs) + ")"
            conds = [f"({pair_sql}) IN ({', '.join([one] * len(batch))})", *slot.where]
            params = [v for t in batch for v in t]
            off = 2 * npairs + npk
            sql = select + " WHERE " + " AND ".join(conds)
            if agg is not None and not slot.cross:
                # aggregates fold the related rows as they stream: memory stays flat whatever the fan-out
                for r, fsp in self._stream_rows(sql, params):
                    key = norm(r[:npairs], r[npairs : 2 * npairs])
                    acc = accs.get(key)
                    if acc is None:
                        acc = accs[key] = agg.accumulator()
                    agg.fold(acc, SlotRow(r[off:], fsp[off:]))
                continue
            rows, fsp = self._query(sql, params)
            for r in rows:
                entry = (tuple(r[2 * npairs : off]), SlotRow(r[off:], fsp[off:]))
                index.setdefault(norm(r[:npairs], r[npairs : 2 * npairs]), []).append(entry)
        if agg is not None and not slot.cross:
            empty = agg.accumulator().result()
            chunk.folded[slot.id] = [
                accs[k].result() if k is not None and k in accs else empty for k in want_keys
            ]
            return
        per_row = [index.get(k, []) if k is not None else [] for k in want_keys]
        if slot.cross:
            per_row = self._cross_filter(plan, slot, chunk, per_row)
        if agg is not None:
            folded: list[V] = []
            for entries in per_row:
                acc = agg.accumulator()
                for _, row in entries:
                    agg.fold(acc, row)
                folded.append(acc.result())
            chunk.folded[slot.id] = folded
            return

        def ordered(entries: list[tuple[tuple[Any, ...], SlotRow]]) -> list[SlotRow]:
            entries = sorted(entries, key=lambda e: tuple(sort_key(v) for v in e[0]))
            result = [e[1] for e in entries]
            for (idx, desc), widx in reversed(list(zip(slot.order, slot.order_weights, strict=True))):
                result.sort(key=lambda r, i=idx, w=widx: weighted_key(r.values[i], r.values[w]), reverse=desc)  # type: ignore[misc]
            return result

        if slot.kind == "one":
            out_one: list[SlotRow | None] = []
            for i, entries in enumerate(per_row):
                if len(entries) > 1:
                    chunk.notes[i].append(
                        f"to-one join to {slot.table.name} matched {len(entries)} rows; the first by primary key is used"
                    )
                out_one.append(ordered(entries)[0] if entries else None)
            chunk.one[slot.id] = out_one
        else:
            out_many: list[list[SlotRow]] = []
            for entries in per_row:
                related = ordered(entries)
                if slot.limit is not None:
                    related = related[: max(int(slot.limit), 0)]
                out_many.append(related)
            chunk.many[slot.id] = out_many

    def _cross_filter(
        self, plan: Plan, slot: Slot, chunk: _Chunk, per_row: list[list[tuple[tuple[Any, ...], SlotRow]]]
    ) -> list[list[tuple[tuple[Any, ...], SlotRow]]]:
        """Keep the candidates for which every cross part of the join condition holds: the server
        evaluates each part over the two rows, located by their keys (one UNION ALL per batch)."""
        for cross in slot.cross:
            other = plan.slots[cross.other]
            okeys: list[tuple[Any, ...] | None] = []
            tests: dict[tuple[Any, ...], int | None] = {}
            for i, entries in enumerate(per_row):
                orow = chunk.one[cross.other][i]
                okey = tuple(orow.values[j] for j in cross.other_keys) if orow is not None else None
                okeys.append(okey)
                if okey is None:
                    continue
                for _, row in entries:
                    tests.setdefault((okey, tuple(row.values[j] for j in cross.target_keys)), None)
            todo = list(tests)
            o_cols = [f"{quote(OTHER_ALIAS)}.{quote(c)} = %s" for c in cross.other_key_columns]
            t_cols = [f"{quote(ROW_ALIAS)}.{quote(c)} = %s" for c in slot.table.primary_key]
            where = " AND ".join(o_cols + t_cols)
            for start in range(0, len(todo), 100):
                batch = todo[start : start + 100]
                parts = [
                    f"SELECT {n} AS `_dm_n`, {cross.sql} AS `_dm_v` FROM {quote(other.table.name)} AS "
                    f"{quote(OTHER_ALIAS)}, {quote(slot.table.name)} AS {quote(ROW_ALIAS)} WHERE {where}"
                    for n in range(len(batch))
                ]
                params = [v for okey, tkey in batch for v in (*okey, *tkey)]
                rows, _ = self._query(" UNION ALL ".join(parts), params)
                for n, v in rows:
                    tests[batch[int(n)]] = v
            per_row = [
                [
                    e
                    for e in entries
                    if ok is not None
                    and tests.get((ok, tuple(e[1].values[j] for j in cross.target_keys))) == 1
                ]
                for entries, ok in zip(per_row, okeys, strict=True)
            ]
        return per_row

    # -- building items -----------------------------------------------------------------------------

    def _evaluate(self, plan: Plan, rows: list[tuple[Any, ...]], fsp: list[int | None]) -> Iterator[EvalRow]:
        n = len(rows)
        chunk = _Chunk(self, plan, {SOURCE: [SlotRow(r, fsp) for r in rows]}, {}, [[] for _ in range(n)])
        for slot in plan.slots.values():
            if slot.id != SOURCE:
                self._fetch_slot(plan, slot, chunk, n)
        nkey = len(self.key_columns(plan.entity))
        for i, r in enumerate(rows):
            yield self._item(plan, _Ctx(chunk, i), tuple(r[:nkey]), chunk.notes[i])

    def _item(self, plan: Plan, ctx: _Ctx, source_key: tuple[Any, ...], notes: list[str]) -> EvalRow:
        table = self.table
        entity = plan.entity.entity_type
        keys = table.key_names
        gsi_keys = set(table.index_key_names) - set(keys)
        # partition / sort key of the table or of a GSI: the strictest where a name is both
        kinds: dict[str, str] = {}
        for pk, sk in [(table.pk, table.sk), *((g.pk, g.sk) for g in table.gsis)]:
            if pk and kinds.get(pk) != "sort":
                kinds[pk] = "partition"
            if sk:
                kinds[sk] = "sort"
        by_name = {a.attribute.name: a for a in plan.attributes}
        order = [n for n in table.attribute_names if n in by_name] + [k for k in keys if k not in by_name]
        item: Item = {}
        omitted: list[str] = []

        def value_of(name: str) -> DdbValue | _Rejection | None:
            """The DynamoDB value of attribute ``name``; None: absent (an empty GSI key is noted)."""
            ap = by_name.get(name)
            if ap is None:
                return ("null_key", f"key attribute '{name}' is NULL (the entity does not produce it)")
            atype = ap.attribute.type
            value: Any = None
            try:
                value, fsp = ap.node.eval(ctx)
                if value is None:
                    if name in keys:
                        return ("null_key", f"key attribute '{name}' is NULL")
                    return None
                if isinstance(value, dict | list):
                    if atype in ("M", "L"):
                        if (atype == "M") != isinstance(value, dict):
                            kind = "an object" if atype == "M" else "an array"
                            raise Reject("bad_json", f"a {atype} attribute needs {kind}")
                        dv: DdbValue | None = json_to_ddb(nesting_checked(value))
                    else:
                        dv = to_ddb(json_text(value), atype)
                else:
                    dv = to_ddb(value, atype, fsp)
            except Reject as exc:
                empty = isinstance(value, str | bytes) and len(value) == 0
                if name in gsi_keys and empty:
                    omitted.append(name)
                    return None
                if name in keys and empty:
                    return ("empty_key", f"key attribute '{name}' is empty")
                return (exc.code, f"attribute '{name}' ({atype}): {exc.reason}")
            if dv is None:
                return None  # an empty set: absent
            if name in keys or name in gsi_keys:
                raw = next(iter(dv.values()))
                if isinstance(raw, str | bytes) and len(raw) == 0:
                    if name in keys:
                        return ("empty_key", f"key attribute '{name}' is empty")
                    omitted.append(name)
                    return None
                long = key_too_long(name, dv, kinds[name]) if name in kinds else None
                if long is not None:
                    return ("key_too_long", long)
            return dv

        def reject(code: str, reason: str, failed: str | None) -> EvalRow:
            """The rejected row, with its table key when the key attributes are computable (a non-key
            attribute rejects it): validation looks that key up in DynamoDB."""
            key: Item | None = None
            if failed not in keys:
                key = {}
                for k in keys:
                    got = item[k] if k in item else value_of(k)
                    if not isinstance(got, dict):
                        key = None  # the key itself cannot be computed: no item can have it
                        break
                    key[k] = got
            return EvalRow(source_key, None, reason, code, entity, tuple(omitted), tuple(notes), key=key)

        for name in order:
            got = value_of(name)
            if isinstance(got, tuple):
                return reject(got[0], got[1], name)
            if got is not None:
                item[name] = got
        size = item_size(item)
        if size + self.marker_overhead > MAX_ITEM_BYTES:
            return reject(
                "too_large",
                f"item is {size} bytes plus the marker; DynamoDB's limit is {MAX_ITEM_BYTES} bytes (400 KB)",
                None,
            )
        return EvalRow(source_key, item, None, None, entity, tuple(omitted), tuple(notes))


__all__ = ["DEFAULT_MARKER_OVERHEAD", "EvalRow", "EvaluationUnsupported", "Evaluator"]
