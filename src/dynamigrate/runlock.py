"""A lock on a run directory, so that two processes never drive one run at once.

Two ``migrate --resume`` of one run used to both proceed, each claiming every item, and the written-keys
log got every key twice. Now a run is driven by the process that holds its lock:

* ``<run>/run.lock`` is held with ``flock`` for as long as the process works on the run; the kernel
  drops it when the process ends in any way (SIGKILL included), so a lock of a dead process on this
  host is never in the way;
* ``<run>/lock.json`` says who holds it (pid, host, since, command, tables), for the message a second
  process prints, and for the cases ``flock`` cannot decide: a holder on another host (a shared
  output directory) is assumed alive unless ``--force``; a holder on this host whose pid is gone is
  stale and taken over (logged).

:func:`live_runs_on` lists the other runs of an output directory that are live right now and target
some of the same DynamoDB tables; ``migrate`` refuses to start beside them without ``--force``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from dynamigrate.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
OWNER_FILE = "lock.json"


class RunLockedError(ConfigError):
    """Another process drives the run (or a run on the same tables): exit 2, nothing was changed."""

    code = "DM120"


def _host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_owner(run_path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_path / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "another process"
    return (
        f"pid {owner.get('pid')} on {owner.get('host')} (since {owner.get('since')}, {owner.get('command')})"
    )


class RunLock:
    """The lock of one run directory; :meth:`release` (or the process's end) lets it go."""

    def __init__(self, run_path: Path, fh: IO[str]):
        self.run_path = run_path
        self._fh: IO[str] | None = fh

    def release(self) -> None:
        if self._fh is None:
            return
        owner = read_owner(self.run_path)
        if owner and owner.get("pid") == os.getpid() and owner.get("host") == _host():
            with contextlib.suppress(OSError):
                (self.run_path / OWNER_FILE).unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(
    run_path: str | Path, *, force: bool = False, tables: Iterable[str] = (), command: str | None = None
) -> RunLock:
    """Lock ``run_path`` for this process, or raise :class:`RunLockedError` naming the holder."""
    path = Path(run_path)
    fh = open(path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise RunLockedError(
            f"run {path.name} is in use by {_describe(read_owner(path))}",
            hint="wait until that process ends (`dynamigrate status` shows its progress); two processes "
            "on one run would each write every item",
            run=path.name,
        ) from None
    owner = read_owner(path)
    if owner and not (owner.get("pid") == os.getpid() and owner.get("host") == _host()):
        # we hold the flock, so a holder on this host is gone (the kernel dropped its lock when it
        # ended, SIGKILL included); a holder on another host may be alive: its kernel's locks are not ours
        if owner.get("host") != _host() and not force:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()
            raise RunLockedError(
                f"run {path.name} is locked by {_describe(owner)}, on another host: dynamigrate cannot "
                "tell whether it still runs",
                hint="if that process is gone, take the run over with --force",
                run=path.name,
            )
        pid = owner.get("pid")
        gone = owner.get("host") == _host() and not (isinstance(pid, int) and _pid_alive(pid))
        log.warning(
            "run %s: taking over the stale lock of %s (%s)",
            path.name,
            _describe(owner),
            "--force" if owner.get("host") != _host() else ("not running" if gone else "it holds no lock"),
        )
    record = {
        "pid": os.getpid(),
        "host": _host(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command or " ".join(["dynamigrate", *sys.argv[1:2]]),
        "tables": sorted(tables),
    }
    tmp = path / f".{OWNER_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path / OWNER_FILE)
    return RunLock(path, fh)


def is_live(run_path: Path) -> bool:
    """True when a process holds ``run_path``'s lock right now (this host, or assumed for another)."""
    lock = run_path / LOCK_FILE
    if not lock.exists():
        return False
    owner = read_owner(run_path)
    if owner and owner.get("host") not in (None, _host()):
        return True  # cannot ask another host's kernel
    try:
        with open(lock, "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def live_runs_on(
    output_dir: str | Path, tables: Iterable[str], exclude: str | None = None
) -> list[tuple[str, list[str], dict[str, Any] | None]]:
    """Other live runs in ``output_dir`` that target any of ``tables``: (run id, shared tables, owner)."""
    from dynamigrate.runstate import list_runs

    wanted = set(tables)
    found = []
    for run_path in list_runs(output_dir):
        if run_path.name == exclude or not is_live(run_path):
            continue
        owner = read_owner(run_path)
        try:
            meta = json.loads((run_path / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        theirs = set((owner or {}).get("tables") or meta.get("tables") or [])
        shared = sorted(wanted & theirs)
        if shared:
            found.append((run_path.name, shared, owner))
    return found


def refuse_concurrent(output_dir: str | Path, tables: Iterable[str], run_id: str | None, force: bool) -> None:
    """Raise :class:`RunLockedError` when another live run targets the same tables (a warning with
    ``force``)."""
    for other, shared, owner in live_runs_on(output_dir, tables, exclude=run_id):
        doing = "is replicating into" if "replicate" in str((owner or {}).get("command")) else "is loading"
        text = f"run {other} ({_describe(owner)}) {doing} {', '.join(shared)} right now"
        if force:
            log.warning("%s: going ahead because of --force", text)
            continue
        raise RunLockedError(
            text,
            hint="two runs writing the same tables race each other's conditional writes and markers: "
            "wait for it, or pass --force if that is what you want",
            run=other,
        )
