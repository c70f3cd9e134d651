"""The run directory: durable, inspectable state that stages hand over to each other.

Layout of ``<output_dir>/<run_id>/`` (documented in docs/run-directory.md)::

    run.json              what the run is: id, start time, engine, write mode, contract hash, masked config
    state.json            live status: phase, status, per-table counters (atomically replaced)
    manifest.json         what the run created: views, tables, glue jobs, s3 objects
    events.jsonl          progress samples and phase events (throughput over time)
    rejected.jsonl        rows that could not become items: table, entity, key, reason, row
    written/<T>.jsonl     keys (+ marker) of the items this run wrote to table T (rollback)
    old_images/<T>.jsonl  images of items this run replaced in T (rollback of sync/newer/overwrite)
    checkpoints/<T>.json  resume position of the engine for table T
    preflight.json, validation.json, report.json, report.md, report.html

Every write is either an atomic replace (JSON documents) or an append of whole lines followed by a
flush (JSON Lines), so a run killed at any moment (even SIGKILL) leaves readable state behind; a torn
last line is ignored when reading.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from dynamigrate.errors import ConfigError
from dynamigrate.redact import redact

RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def safe_name(name: str) -> str:
    """A table name usable as a file name (DynamoDB names are already safe except for '.')."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def utcnow() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def jsonl_text(objs: list[Any]) -> str:
    """``objs`` as JSON Lines, the format of every ``*.jsonl`` of a run directory."""
    return "".join(json.dumps(o, ensure_ascii=False, default=str, separators=(",", ":")) + "\n" for o in objs)


class JsonlWriter:
    """Append-only JSON Lines file, thread-safe, flushed on every write (durable against SIGKILL).

    ``fsync=True`` also survives a power loss, at a cost; the default flushes to the OS, which is
    enough for a killed process.
    """

    def __init__(self, path: Path, fsync: bool = False):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._fsync = fsync

    def write(self, obj: Any) -> None:
        self.write_many([obj])

    def write_many(self, objs: list[Any]) -> None:
        if objs:
            self.write_text(jsonl_text(objs))

    def write_text(self, text: str) -> None:
        """Append lines already in this file's format (:func:`jsonl_text`; a writer process's records)."""
        if not text:
            return
        text = redact(text)
        with self._lock:
            self._fh.write(text)
            self._fh.flush()
            if self._fsync:
                os.fsync(self._fh.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Read a JSON Lines file; a torn last line (killed writer) is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn write at the end
            line = line.strip()
            if line:
                yield json.loads(line)


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    # secrets are masked by value in everything written to a run directory (dynamigrate.redact)
    tmp.write_text(
        redact(json.dumps(obj, indent=2, ensure_ascii=False, default=str)) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


class RunDir:
    """One run's directory. Create with :meth:`create`, reopen with :meth:`open` or :meth:`find`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.run_id = self.path.name
        self._writers: dict[str, JsonlWriter] = {}
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls, output_dir: str | Path, run_id: str | None = None, meta: dict[str, Any] | None = None
    ) -> RunDir:
        run_id = run_id or new_run_id()
        path = Path(output_dir) / run_id
        path.mkdir(parents=True, exist_ok=False)
        run = cls(path)
        run.write_json("run.json", {"run_id": run_id, "created_at": utcnow(), **(meta or {})})
        run.write_json(
            "state.json",
            {"run_id": run_id, "status": "created", "phase": None, "tables": {}, "updated_at": utcnow()},
        )
        run.write_json(
            "manifest.json",
            {"run_id": run_id, "views": [], "tables": [], "glue_jobs": [], "s3_objects": [], "other": []},
        )
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        p = Path(path)
        if not (p / "run.json").exists():
            raise ConfigError(
                f"{p} is not a dynamigrate run directory (no run.json)",
                hint="pass a run id or the path of a run directory; `dynamigrate status` lists runs",
            )
        return cls(p)

    @classmethod
    def find(cls, output_dir: str | Path, run: str | None = None) -> RunDir:
        """A run by id or path; the latest run in ``output_dir`` when ``run`` is None."""
        if run:
            p = Path(run)
            if p.is_dir():
                return cls.open(p)
            return cls.open(Path(output_dir) / run)
        runs = list_runs(output_dir)
        if not runs:
            raise ConfigError(f"no runs in {output_dir}", hint="start one with `dynamigrate migrate`")
        return cls.open(runs[-1])

    # -- documents ------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def read_json(self, name: str, default: Any = None) -> Any:
        p = self.path / name
        if not p.exists():
            return default
        return json.loads(p.read_text(encoding="utf-8"))

    def write_json(self, name: str, obj: Any) -> None:
        write_json_atomic(self.path / name, obj)

    @property
    def meta(self) -> dict[str, Any]:
        return self.read_json("run.json", {})

    def update_meta(self, **fields: Any) -> None:
        with self._lock:
            meta = self.read_json("run.json", {})
            meta.update(fields)
            self.write_json("run.json", meta)

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.read_json("state.json", {})

    def update_state(
        self, *, tables: dict[str, dict[str, Any]] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Merge ``fields`` into state.json and ``tables[name]`` into its per-table entries."""
        with self._lock:
            state = self.read_json("state.json", {})
            state.update(fields)
            if tables:
                current = state.setdefault("tables", {})
                for name, values in tables.items():
                    current.setdefault(name, {}).update(values)
            state["updated_at"] = utcnow()
            self.write_json("state.json", state)
            return state

    # -- manifest -------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return self.read_json("manifest.json", {})

    def record_created(self, kind: str, entry: dict[str, Any]) -> None:
        """Record a resource the run created (kind: views, tables, glue_jobs, s3_objects, other)."""
        with self._lock:
            manifest = self.read_json("manifest.json", {})
            items = manifest.setdefault(kind, [])
            if entry not in items:
                items.append(entry)
            self.write_json("manifest.json", manifest)

    # -- append-only logs -----------------------------------------------------------------------
    def writer(self, name: str) -> JsonlWriter:
        """A shared append writer for ``name`` (e.g. 'rejected.jsonl', 'written/Users.jsonl')."""
        with self._lock:
            w = self._writers.get(name)
            if w is None:
                w = self._writers[name] = JsonlWriter(self.path / name)
            return w

    def set_aside(self, name: str, suffix: str) -> Path | None:
        """Rename file ``name`` to ``<stem>.<suffix><ext>`` (closing its shared writer first, so later
        appends go to a new file); the new path, or None when there was no such file."""
        with self._lock:
            w = self._writers.pop(name, None)
            if w is not None:
                w.close()
        path = self.path / name
        if not path.exists():
            return None
        dest = path.with_name(f"{path.stem}.{suffix}{path.suffix}")
        path.rename(dest)
        return dest

    def append(self, name: str, obj: Any) -> None:
        self.writer(name).write(obj)

    def read_lines(self, name: str) -> Iterator[dict[str, Any]]:
        return read_jsonl(self.path / name)

    def event(self, kind: str, **fields: Any) -> None:
        self.append("events.jsonl", {"ts": time.time(), "event": kind, **fields})

    def written_file(self, table: str) -> str:
        return f"written/{safe_name(table)}.jsonl"

    def old_images_file(self, table: str) -> str:
        return f"old_images/{safe_name(table)}.jsonl"

    def checkpoint_file(self, table: str) -> str:
        return f"checkpoints/{safe_name(table)}.json"

    def close(self) -> None:
        with self._lock:
            for w in self._writers.values():
                w.close()
            self._writers.clear()


def list_runs(output_dir: str | Path) -> list[Path]:
    """Run directories in ``output_dir``, oldest first."""
    base = Path(output_dir)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / "run.json").exists())
