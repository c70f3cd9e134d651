"""The local engine's pass with writer processes (``--workers N``, N > 1): where the client is the limit.

Share-nothing: every writer process (:mod:`dynamigrate.etl.local_worker`) reads the key windows it is
handed from MySQL, encodes them and writes them with its own DynamoDB client. The engine's process
plans the windows, decides duplicates, writes the run directory's files and the checkpoint::

    engine process                                           writer process w (of N)
    key plan, window bounds (index reads) ── Task ──────────► read window, encode
    claims in task order: PassKeys (first row wins) ◄─ claim ─ canonical keys of the rows
                                             ── dup positions ► write the rest (conditional or batch)
    written/ rejected / conflicts files     ◄── done ──────── outcome, records, counters
    chunks completed strictly in task order: counters, checkpoint (LocalEngine._complete)

What stays exact, and why:

* **Checkpoints**: chunks complete in task order (the order of the key windows), whatever process wrote
  them; the checkpoint is the same ``(entity, after_key)`` as one process's, so ``--resume`` (also with
  another ``--workers``) redoes at most the windows in flight, and redone writes are idempotent.
* **Duplicate keys across processes**: keys are claimed in task order in the engine's process (one
  on-disk :class:`PassKeys` set), so the first row of a key wins exactly as in one process.
* **Accounting**: counters travel with each chunk's outcome; the equation is checked as before.
* **Errors**: a table-level error in any process fails the table and stops the others; a process that
  dies (killed, out of memory) fails the table with its exit status; ``--resume`` continues.
* **Processes** are started once per run (:class:`WorkerPool`) and serve one table after another.
* **Memory**: each process holds at most ~3 chunks; the engine holds the outcomes of at most
  ``N * (DEPTH + 1)`` tasks; flat in the table's size.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dynamigrate.errors import EngineError
from dynamigrate.etl.local_pass import ChunkOutcome, open_reader, read_plan
from dynamigrate.etl.local_worker import Task, WorkerSpec, worker_main
from dynamigrate.etl.pass_keys import PassKeys
from dynamigrate.source.keys import key_from_json

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlContext

log = logging.getLogger(__name__)

#: tasks queued per writer process (one being written, one being read)
DEPTH = 2
#: source rows each process must get, else fewer processes: starting one costs ~0.5 s of CPU (imports,
#: clients) and its messages cost the engine some; measured in docs/etl.md "Writer processes"
MIN_ROWS_PER_WORKER = 50_000
#: the most writer processes the automatic choice starts
AUTO_MAX = 8


@dataclass(frozen=True)
class WorkersChoice:
    count: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "why": self.why}


def choose_workers(
    requested: int | None,
    *,
    strategy: str,
    local_endpoint: bool,
    rows: int | None,
    cpus: int | None = None,
    portable_client: bool = True,
) -> WorkersChoice:
    """How many writer processes load a table, and why (said at INFO and in the report).

    ``strategy``: the writer's (``put``, ``transact``, ``batch`` = the fresh-table fast path).
    Automatic (``requested`` None): DynamoDB Local serves conditional writes (PutItem and transactions)
    through one SQLite thread, which is the ceiling, so 1; its BatchWriteItem is limited by the client's
    CPU, so one process per core but the one the emulator needs on this host; every AWS endpoint: one
    per core (at most :data:`AUTO_MAX`); in both cases only as long as each process gets
    :data:`MIN_ROWS_PER_WORKER` rows.
    """
    cores = max(1, cpus if cpus is not None else (os.cpu_count() or 1))
    if requested is not None:
        n = max(1, int(requested))
        if n > 1 and not portable_client:
            return WorkersChoice(
                1,
                f"--workers {n} asked, but the DynamoDB client was handed in by the caller "
                "and cannot be rebuilt in another process: 1 process",
            )
        return WorkersChoice(n, f"--workers {n}")
    if not portable_client:
        return WorkersChoice(1, "the DynamoDB client was handed in by the caller: 1 process")
    if local_endpoint and strategy != "batch":
        return WorkersChoice(
            1,
            f"DynamoDB Local serves conditional writes ({strategy}) through one SQLite thread, the ceiling "
            "here: more processes would not load faster",
        )
    if local_endpoint:
        # the emulator runs on this host and needs a core of its own (measured: with 2 cores, two
        # writer processes were slower than one, docs/etl.md "Writer processes")
        n, why = (
            min(cores - 1, AUTO_MAX),
            (
                f"DynamoDB Local's BatchWriteItem is limited by the client's CPU: one process per core but the "
                f"one DynamoDB Local needs on this host ({cores} core(s))"
            ),
        )
    else:
        n, why = (
            min(cores, AUTO_MAX),
            f"AWS with the {strategy} path is limited by the client's CPU: one process per core ({cores} core(s))",
        )
    n = max(1, n)
    if rows is not None and n > 1:
        n = max(1, min(n, rows // MIN_ROWS_PER_WORKER))
        if n == 1:
            return WorkersChoice(
                1, f"{rows:,} source rows: fewer than {2 * MIN_ROWS_PER_WORKER:,}, not worth a second process"
            )
    return WorkersChoice(n, why)


class MergedSink:
    """The engine-side sink of a pass with writer processes: the processes' counters, summed as their
    chunks complete (the interface :meth:`LocalEngine._complete` reads)."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def add(self, delta: dict[str, int]) -> None:
        for k, v in delta.items():
            self.counters[k] = self.counters.get(k, 0) + int(v)

    def flush(self) -> None:
        """Nothing buffered: the processes' records are written when their chunk arrives."""


class WorkerPool:
    """``n`` writer processes, kept across the tables of a run (starting one costs ~0.5 s of CPU).

    A table starts with :meth:`begin` (the table's :class:`WorkerSpec`) and ends with :meth:`end_table`
    (every process answers ``idle`` once its writer is closed). After anything but a clean end the
    pool is closed with ``kill`` and the next table starts a new one.
    """

    def __init__(self, n: int):
        self.n = n
        self.procs: list[Any] = []
        self.task_qs: list[Any] = []
        self.reply_qs: list[Any] = []
        self.out: Any = None
        self.usable = True

    def begin(self, spec: WorkerSpec, table: str) -> None:
        if self.procs:
            for tq in self.task_qs:
                tq.put(("table", spec))
            return
        mpc = mp.get_context("spawn")  # no fork of a process with threads and open connections
        self.out = mpc.Queue()
        for wid in range(self.n):
            tq, rq = mpc.Queue(), mpc.Queue()
            p = mpc.Process(
                target=worker_main,
                args=(spec, wid, tq, rq, self.out),
                name=f"dm-writer-{wid + 1}",
                daemon=True,
            )
            p.start()
            self.procs.append(p)
            self.task_qs.append(tq)
            self.reply_qs.append(rq)

    def dead(self) -> tuple[int, int] | None:
        """(process number, exit code) of a process that ended, or None."""
        for wid, p in enumerate(self.procs):
            if p.exitcode is not None:
                return wid, p.exitcode
        return None

    def end_table(self, handle: Callable[[tuple[Any, ...]], None]) -> None:
        """The table's tasks are all done: each process closes its writer and answers ``idle``."""
        for tq in self.task_qs:
            tq.put(None)
        idle: set[int] = set()
        deadline = time.monotonic() + 120
        while len(idle) < self.n:
            try:
                msg = self.out.get(timeout=0.5)
            except queue.Empty:
                if self.dead() is not None or time.monotonic() > deadline:
                    self.usable = False
                    return  # the table is complete; the next one starts new processes
                continue
            if msg[0] == "idle":
                idle.add(msg[1])
            else:
                handle(msg)

    def close(self, kill: bool = False) -> None:
        self.usable = False
        for tq in self.task_qs:
            with contextlib.suppress(OSError, ValueError):
                tq.put(("exit",))
        deadline = time.monotonic() + (0.5 if kill else 30)
        for p in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        for q in (*self.task_qs, *self.reply_qs, self.out):
            if q is not None:
                q.cancel_join_thread()
                q.close()
        self.procs, self.task_qs, self.reply_qs, self.out = [], [], [], None


class WorkersPass:
    """One table's pass with the ``pool``'s writer processes; see the module docstring."""

    def __init__(
        self,
        ctx: EtlContext,
        table: Table,
        pool: WorkerPool,
        sink: MergedSink,
        pass_keys: PassKeys,
        seq: int,
        complete: Callable[[ChunkOutcome], None],
        *,
        with_keys: bool,
        fresh: bool,
        resumed: bool,
    ):
        self.ctx, self.table, self.pool, self.n, self.sink = ctx, table, pool, pool.n, sink
        self.pass_keys, self.seq, self.complete = pass_keys, seq, complete
        self.with_keys, self.fresh, self.resumed = with_keys, fresh, resumed

    def _spec(self) -> WorkerSpec:
        from dynamigrate import redact

        return WorkerSpec(
            config=self.ctx.config,
            table=self.table,
            options=self.ctx.options,
            run_id=self.ctx.run_id,
            database=self.ctx.database,
            fresh=self.fresh,
            resumed=self.resumed,
            with_keys=self.with_keys,
            parent_pid=os.getpid(),
            log_level=logging.getLogger().getEffectiveLevel(),
            secrets=redact.registered(),
        )

    def _check_alive(self, busy: dict[int, deque[int]]) -> None:
        dead = self.pool.dead()
        if dead is None:
            return
        wid, code = dead
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        raise EngineError(
            f"writer process {wid + 1} of {self.n} for table {self.table.name} stopped unexpectedly "
            f"({how}) with {len(busy[wid])} key window(s) in hand",
            table=self.table.name,
            hint="nothing past the last checkpoint is lost: rerun with --resume (redone writes are "
            "idempotent); if the system killed it for memory, lower --workers or --chunk-rows",
        )

    # -- the pass -------------------------------------------------------------------------------
    def run(self, entities_done: set[str], resume_entity: str | None, resume_after: list[Any] | None) -> None:
        self.pool.begin(self._spec(), self.table.name)
        clean = False
        tasks = self._tasks(entities_done, resume_entity, resume_after)
        try:
            self._loop(tasks)
            clean = True
        finally:
            tasks.close()
            if clean:
                self.pool.end_table(self._handle_other)
            else:  # processes may be mid-chunk: never reused
                self.pool.close(kill=True)

    def _handle_other(self, msg: tuple[Any, ...]) -> None:
        """A log record or an error of a process (the ones a finished table can still receive)."""
        if msg[0] == "log":
            logging.getLogger(msg[1].name).handle(msg[1])
        elif msg[0] == "error":
            raise msg[2]

    def _tasks(
        self, entities_done: set[str], resume_entity: str | None, resume_after: list[Any] | None
    ) -> Generator[Task, None, None]:
        """The pass's tasks in order; window bounds are read from the source table's index as needed."""
        t = 0
        with open_reader(self.ctx, self.table) as reader:
            for name, key in read_plan(self.table, self.ctx, reader):
                if (name if name is not None else "") in entities_done:
                    continue
                if not reader.keyed(key):
                    yield Task("stream", t, name)
                    t += 1
                    continue
                lo = (
                    key_from_json(resume_after)
                    if name == resume_entity and resume_after is not None
                    else None
                )
                while True:
                    hi = reader.next_bound(key, lo)
                    yield Task("window", t, name, key, lo, hi)
                    t += 1
                    if hi is None:
                        break
                    lo = hi

    def _loop(self, tasks: Iterator[Task]) -> None:
        busy: dict[int, deque[int]] = {w: deque() for w in range(self.n)}
        next_t = 0
        exhausted = False
        oldest = 0  # the oldest task not completed yet
        claims: dict[tuple[int, int], tuple[int, list[str], bool]] = {}
        claim_at = (0, 0)
        order: deque[tuple[int, int]] = deque()  # claimed chunks, in completion order
        done: dict[tuple[int, int], tuple[ChunkOutcome, dict[str, int], bool]] = {}
        while True:
            # hand out tasks: DEPTH per process, and not too far ahead of the oldest incomplete one
            while not exhausted and next_t - oldest < self.n * (DEPTH + 1):
                wid = min(busy, key=lambda w: len(busy[w]))
                if len(busy[wid]) >= DEPTH:
                    break
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                self.pool.task_qs[wid].put(task)
                busy[wid].append(task.t)
                next_t = task.t + 1
            if exhausted and oldest >= next_t:
                return
            try:
                msg = self.pool.out.get(timeout=0.5)
            except queue.Empty:
                self._check_alive(busy)
                continue
            kind = msg[0]
            if kind == "log":
                record = msg[1]
                logging.getLogger(record.name).handle(record)
            elif kind == "error":
                raise msg[2]
            elif kind == "claim":
                _, wid, t, sub, keys, last = msg
                claims[(t, sub)] = (wid, keys, last)
                while claim_at in claims:
                    owner, keys, last = claims.pop(claim_at)
                    dup_at = self.pass_keys.claim(keys, self.seq)
                    self.seq += 1
                    self.pool.reply_qs[owner].put((claim_at[0], claim_at[1], dup_at))
                    order.append(claim_at)
                    claim_at = (claim_at[0] + 1, 0) if last else (claim_at[0], claim_at[1] + 1)
            elif kind == "done":
                _, wid, t, sub, outcome, records, delta, last = msg
                for name, text in records.items():  # durable before the checkpoint moves past them
                    self.ctx.run.writer(name).write_text(text)
                done[(t, sub)] = (outcome, delta, last)
                if last:
                    busy[wid].remove(t)
                while order and order[0] in done:
                    at = order.popleft()
                    outcome, delta, last = done.pop(at)
                    self.sink.add(delta)
                    self.complete(outcome)
                    if last:
                        oldest = at[0] + 1
