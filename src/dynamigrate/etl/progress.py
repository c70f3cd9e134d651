"""Progress of a load: live per-table display, periodic status lines, JSON lines, and samples.

Engines call :meth:`ProgressReporter.update` with their :class:`TableResult` after every chunk (cheap:
it only stores a snapshot). A background thread renders:

* ``tty``: a live block of one line per table, redrawn in place (read, written, skipped, rejected,
  retries, rows/s, ETA from the view's row count);
* ``plain``: a status line per active table every ``interval`` seconds (logs, CI, pipes);
* ``json``: the same as JSON objects, one per line (``--log-format json``);
* ``quiet``: nothing on screen.

Whatever the mode, a ``progress`` sample per active table is appended to the run's ``events.jsonl``
about every second (the throughput chart of the reports).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.etl.base import TableResult
    from dynamigrate.runstate import RunDir

MODES = ("tty", "plain", "json", "quiet")


def choose_mode(stream: IO[str] | None = None, log_format: str = "text", quiet: bool = False) -> str:
    if quiet:
        return "quiet"
    if log_format == "json":
        return "json"
    s = stream or sys.stderr
    try:
        return "tty" if s.isatty() else "plain"
    except (AttributeError, ValueError):
        return "plain"


@dataclass
class _TableView:
    name: str
    total: int | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    status: str = "running"
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))
    dirty: bool = True

    def done_rows(self) -> int:
        s = self.snapshot
        return int(s.get("read", 0))

    def rate(self, now: float) -> float:
        """Rows/s over the last ~10 seconds (whole-run average before that)."""
        if len(self.samples) < 2:
            elapsed = (self.finished or now) - self.started
            return self.done_rows() / elapsed if elapsed > 0 else 0.0
        t_last, n_last = self.samples[-1]
        t0, n0 = self.samples[0]
        for t, n in self.samples:
            if t_last - t <= 10.0:
                t0, n0 = t, n
                break
        return (n_last - n0) / (t_last - t0) if t_last > t0 else 0.0

    def eta(self, now: float) -> float | None:
        if not self.total or self.status != "running":
            return None
        rate = self.rate(now)
        left = self.total - self.done_rows()
        if rate <= 0 or left <= 0:
            return None
        return left / rate


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressReporter:
    """Thread-safe; start with :meth:`start`, stop with :meth:`close`."""

    def __init__(
        self,
        run: RunDir | None = None,
        mode: str = "plain",
        stream: IO[str] | None = None,
        interval: float = 10.0,
        sample_interval: float = 1.0,
        tick: float = 0.25,
    ):
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}")
        self.run = run
        self.mode = mode
        self.stream = stream or sys.stderr
        self.interval = interval if mode != "tty" else 0.5
        self.sample_interval = sample_interval
        self.tick = tick
        self._tables: dict[str, _TableView] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn_lines = 0
        self._last_render = 0.0
        self._last_sample = 0.0

    # -- engine side ----------------------------------------------------------------------------
    def start_table(self, table: str, total: int | None = None) -> None:
        with self._lock:
            view = self._tables.get(table)
            if view is None or view.status != "running":
                view = self._tables[table] = _TableView(table, total)
            elif total is not None:
                view.total = total

    def set_total(self, table: str, total: int | None) -> None:
        with self._lock:
            view = self._tables.get(table)
            if view is not None:
                view.total = total
                view.dirty = True

    def update(self, result: TableResult) -> None:
        snap = _snapshot(result)
        now = time.monotonic()
        with self._lock:
            view = self._tables.get(result.table)
            if view is None:
                view = self._tables[result.table] = _TableView(result.table, result.total)
            if result.total is not None:
                view.total = result.total
            view.snapshot = snap
            view.samples.append((now, int(snap.get("read", 0))))
            view.dirty = True

    def finish_table(self, result: TableResult) -> None:
        self.update(result)
        with self._lock:
            view = self._tables[result.table]
            view.status = result.status
            view.finished = time.monotonic()
        self._emit_sample(force_table=result.table)
        if self.mode in ("plain", "json"):
            self._write(self._render_line(self._tables[result.table], time.monotonic(), final=True))

    def message(self, text: str) -> None:
        """A line above the live block (phase changes)."""
        with self._lock:
            self._clear_block()
            if self.mode == "json":
                self.stream.write(json.dumps({"event": "phase", "message": text}) + "\n")
            elif self.mode != "quiet":
                self.stream.write(text + "\n")
            self.stream.flush()
            self._drawn_lines = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> ProgressReporter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="dm-progress", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._emit_sample()
        if self.mode == "tty":
            with self._lock:
                self._render_tty(time.monotonic())

    def __enter__(self) -> ProgressReporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rendering ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            now = time.monotonic()
            if now - self._last_sample >= self.sample_interval:
                self._emit_sample()
                self._last_sample = now
            if now - self._last_render >= self.interval:
                self._last_render = now
                self.render()

    def render(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self.mode == "tty":
                self._render_tty(now)
            elif self.mode in ("plain", "json"):
                for view in self._tables.values():
                    if view.status == "running" and view.dirty:
                        self._write_locked(self._render_line(view, now))
                        view.dirty = False

    def _render_line(self, view: _TableView, now: float, final: bool = False) -> str:
        s = view.snapshot
        if final:  # whole-table average
            elapsed = (view.finished or now) - view.started
            rate = int(s.get("read", 0)) / elapsed if elapsed > 0 else 0.0
        else:
            rate = view.rate(now)
        eta = view.eta(now)
        rejected = sum((s.get("rejected") or {}).values())
        if self.mode == "json":
            return json.dumps(
                {
                    "event": "progress" if not final else "table_finished",
                    "table": view.name,
                    "status": view.status,
                    "total": view.total,
                    "read": s.get("read", 0),
                    "written": s.get("written", 0),
                    "skipped": s.get("skipped", 0),
                    "conflicts": s.get("conflicts", 0),
                    "rejected": rejected,
                    "retries": s.get("retries", 0),
                    "throttles": s.get("throttles", 0),
                    "rate": round(rate, 1),
                    "eta_s": round(eta, 1) if eta is not None else None,
                }
            )
        total = f"/{view.total}" if view.total is not None else ""
        pct = ""
        if view.total:
            pct = f" {min(100.0, 100.0 * int(s.get('read', 0)) / view.total):5.1f}%"
        tail = (
            f"ETA {format_duration(eta)}"
            if not final
            else f"{view.status} in {format_duration(now - view.started)}"
        )
        return (
            f"{view.name:<20} read {s.get('read', 0)}{total}{pct}  written {s.get('written', 0)}  "
            f"skipped {s.get('skipped', 0)}  conflicts {s.get('conflicts', 0)}  rejected {rejected}  "
            f"retries {s.get('retries', 0)}  {rate:,.0f} rows/s  {tail}"
        )

    def _render_tty(self, now: float) -> None:
        if not self._tables:
            return
        self._clear_block()
        import shutil

        width = shutil.get_terminal_size((120, 24)).columns
        lines = []
        for view in self._tables.values():
            line = self._render_line(view, now, final=view.status != "running")
            # one screen line per table (a wrapped line would break the cursor-up redraw)
            lines.append((_bar(view) + " " + line)[: max(20, width - 1)])
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn_lines = len(lines)

    def _clear_block(self) -> None:
        if self.mode == "tty" and self._drawn_lines:
            # cursor up to the start of the block, clear to the end of the screen
            self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
            self._drawn_lines = 0

    def _write(self, line: str) -> None:
        with self._lock:
            self._write_locked(line)

    def _write_locked(self, line: str) -> None:
        if self.mode == "quiet":
            return
        self.stream.write(line + "\n")
        self.stream.flush()

    def _emit_sample(self, force_table: str | None = None) -> None:
        if self.run is None:
            return
        now = time.monotonic()
        with self._lock:
            views = [v for v in self._tables.values() if v.status == "running" or v.name == force_table]
            samples = []
            for v in views:
                s = v.snapshot
                samples.append(
                    {
                        "table": v.name,
                        "read": s.get("read", 0),
                        "written": s.get("written", 0),
                        "skipped": s.get("skipped", 0),
                        "conflicts": s.get("conflicts", 0),
                        "rejected": sum((s.get("rejected") or {}).values()),
                        "retries": s.get("retries", 0),
                        "throttles": s.get("throttles", 0),
                        "total": v.total,
                        "rate": round(v.rate(now), 1),
                        "elapsed": round(now - v.started, 3),
                    }
                )
        for sample in samples:
            self.run.event("progress", **sample)


def _bar(view: _TableView, width: int = 20) -> str:
    if not view.total:
        return "[" + ("#" * width if view.status != "running" else "?" * width) + "]"
    frac = min(1.0, int(view.snapshot.get("read", 0)) / view.total)
    full = int(frac * width)
    return "[" + "#" * full + "." * (width - full) + "]"


def _snapshot(result: TableResult) -> dict[str, Any]:
    return {
        "read": result.read,
        "written": result.written,
        "skipped": result.skipped,
        "conflicts": result.conflicts,
        "rejected": dict(result.rejected),
        "retries": result.retries,
        "throttles": result.throttles,
    }
