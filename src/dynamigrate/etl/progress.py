"""Progress of a load: live per-table display, periodic status lines, JSON lines, and samples.

Engines call :meth:`ProgressReporter.update` with their :class:`TableResult` after every chunk (cheap:
it only stores a snapshot). A background thread renders:

* ``tty``: a live table drawn with ``rich`` (one row per table: bar, written, rejected, rows/s, ETA),
  redrawn in place and sized to the terminal (80 columns fit); log lines and phase messages are
  printed above it through the same console (:func:`stderr_console`), so they do not break it;
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
    from rich.console import Console, RenderableType
    from rich.live import Live

    from dynamigrate.etl.base import TableResult
    from dynamigrate.runstate import RunDir

MODES = ("tty", "plain", "json", "quiet")

_CONSOLE: Console | None = None


def stderr_console() -> Console:
    """The one ``rich`` console on stderr, shared by the live progress display and the CLI's log
    handler: what one prints while the other is live lands above the live block instead of through
    it. It looks ``sys.stderr`` up at every write (tests swap it)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        _CONSOLE = Console(stderr=True, highlight=False, soft_wrap=False)
    return _CONSOLE


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
        self._given_stream = stream
        self.stream = stream or sys.stderr
        self.interval = interval if mode != "tty" else 0.25
        self.sample_interval = sample_interval
        self.tick = tick
        self._tables: dict[str, _TableView] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None
        self._console: Console | None = None
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
        if self.mode == "tty":
            from rich.text import Text

            self.console.print(Text(text), soft_wrap=False)
            return
        with self._lock:
            if self.mode == "json":
                self.stream.write(json.dumps({"event": "phase", "message": text}) + "\n")
            elif self.mode != "quiet":
                self.stream.write(text + "\n")
            self.stream.flush()

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def console(self) -> Console:
        """The rich console of the ``tty`` mode: the shared stderr console, or one on ``stream``."""
        if self._console is None:
            if self._given_stream is None:
                self._console = stderr_console()
            else:
                from rich.console import Console

                self._console = Console(
                    file=self._given_stream, force_terminal=True, highlight=False, soft_wrap=False
                )
        return self._console

    def start(self) -> ProgressReporter:
        if self.mode == "tty" and self._live is None:
            from rich.live import Live

            self._live = Live(
                console=self.console,
                auto_refresh=False,
                transient=False,
                # lines printed to stdout meanwhile (the Glue engine's) go above the live table when
                # stdout is the same terminal; a redirected stdout keeps them
                redirect_stdout=self._given_stream is None and _isatty(sys.stdout),
                redirect_stderr=True,
                get_renderable=self._frame,
            )
            self._live.start()
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
        if self._live is not None:
            live, self._live = self._live, None
            live.refresh()
            live.stop()

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
        if self.mode == "tty":
            if self._live is not None:
                self._live.refresh()
            return
        with self._lock:
            if self.mode in ("plain", "json"):
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

    def _frame(self) -> RenderableType:
        """The live block: one row per table, sized to the console's width."""
        with self._lock:
            views = list(self._tables.values())
        return render_table_frame(views, time.monotonic(), self.console.width)

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


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def render_table_frame(views: list[_TableView], now: float, width: int) -> RenderableType:
    """A rich table of the tables being loaded that fits ``width`` columns: name, bar and percentage,
    written, rejected (and skipped when any), rows/s, ETA. An unknown total shows a moving bar and no
    percentage; a finished table its status where the ETA was."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    if not views:
        return Group()
    skipped = any(int(v.snapshot.get("skipped", 0)) for v in views)
    numbers = ["written", "rejected"] + (["skipped"] if skipped else [])
    rows: list[tuple[_TableView, dict[str, str]]] = []
    for v in views:
        s = v.snapshot
        running = v.status == "running"
        if running:
            rate = v.rate(now)
            eta = format_duration(v.eta(now)) if v.total else "--:--"
        else:
            elapsed = (v.finished or now) - v.started
            rate = int(s.get("read", 0)) / elapsed if elapsed > 0 else 0.0
            eta = v.status
        cells = {
            "written": f"{int(s.get('written', 0)):,}",
            "rejected": f"{sum((s.get('rejected') or {}).values()):,}",
            "skipped": f"{int(s.get('skipped', 0)):,}",
            "rows/s": f"{rate:,.0f}",
            "ETA": eta,
        }
        rows.append((v, cells))
    heads = [*numbers, "rows/s", "ETA"]
    widths = {h: max(len(h), *(len(c[h]) for _, c in rows)) for h in heads}
    # what is left for the name and the bar: one space after every column but the last, and the
    # terminal's last column kept free (a full line would wrap on some terminals)
    columns = 3 + len(heads)
    fixed = sum(widths.values()) + 4 + (columns - 1)
    room = max(14, width - 1 - fixed)
    name_width = max(5, min(max(len(v.name) for v in views), 24, room - 6))
    bar_width = max(6, min(40, room - name_width))

    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("table", width=name_width, no_wrap=True, overflow="ellipsis")
    table.add_column("progress", width=bar_width, no_wrap=True)
    table.add_column("", width=4, justify="right", no_wrap=True)
    for h in heads:
        table.add_column(h, width=widths[h], justify="right", no_wrap=True)
    for v, cells in rows:
        read = int(v.snapshot.get("read", 0))
        if v.total:
            bar = ProgressBar(total=v.total, completed=min(read, v.total), width=bar_width)
            pct = f"{min(100, int(100 * read / v.total))}%"
        elif v.status == "running":
            bar = ProgressBar(total=None, width=bar_width)  # unknown total: a moving bar
            pct = ""
        else:
            bar = ProgressBar(total=1, completed=1, width=bar_width)
            pct = ""
        status = cells["ETA"]
        eta_style = "red" if status not in ("done",) and v.status not in ("running", "done") else ""
        table.add_row(
            Text(v.name),
            bar,
            pct,
            *(cells[h] for h in numbers),
            cells["rows/s"],
            Text(status, style=eta_style),
        )
    return table


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
