"""Binlog positions: what the server offers, where a migration started, where replication stands.

Files in the run directory:

* ``binlog_start.json``: taken by ``migrate`` just before its load begins (binlog on only):
  ``{"file", "pos", "gtid", "server_id", "taken_at"}``.
* ``replicate/checkpoint.json``: where ``replicate`` resumes: the position after the last transaction
  whose writes are done (atomically replaced after those writes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dynamigrate.errors import ConfigError, SourceError
from dynamigrate.runstate import RunDir, utcnow

log = logging.getLogger(__name__)

START_FILE = "binlog_start.json"
GRANT_HINT = (
    "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '<user>'@'<host>' (as an administrator; "
    "MariaDB 10.5+ calls REPLICATION CLIENT BINLOG MONITOR)"
)
CHECKPOINT_FILE = "replicate/checkpoint.json"


@dataclass(frozen=True, order=True)
class Position:
    file: str
    pos: int

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

    @classmethod
    def parse(cls, text: str) -> Position:
        name, sep, pos = text.rpartition(":")
        if not sep or not name or not pos.isdigit():
            raise ConfigError(
                f"'{text}' is not a binlog position",
                hint="write FILE:POS, e.g. mariadb-bin.000002:1181 (SHOW MASTER STATUS shows the head)",
            )
        return cls(name, int(pos))


def _variables(conn: Any, names: tuple[str, ...]) -> dict[str, str | None]:
    with conn.cursor() as cur:
        cur.execute(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ", ".join(["%s"] * len(names)) + ")", names
        )
        got = {str(r[0]).lower(): (None if r[1] is None else str(r[1])) for r in cur.fetchall()}
    return {n: got.get(n) for n in names}


def binlog_enabled(conn: Any) -> bool:
    return (_variables(conn, ("log_bin",))["log_bin"] or "").upper() in ("ON", "1")


def head(conn: Any) -> Position | None:
    """The binlog head (``SHOW MASTER STATUS``), None when the binlog is off."""
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
    if not row:
        return None
    return Position(str(row[0]), int(row[1]))


def gtid_pos(conn: Any) -> str | None:
    """MariaDB's ``@@gtid_binlog_pos`` (MySQL: ``@@gtid_executed``); None when unavailable."""
    for var in ("@@gtid_binlog_pos", "@@global.gtid_executed"):
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT {var}")
                row = cur.fetchone()
        except Exception:  # the variable does not exist on this server flavour
            continue
        if row and row[0]:
            return str(row[0])
    return None


def record_start_position(conn: Any, run: RunDir) -> dict[str, Any] | None:
    """Write ``binlog_start.json`` when the binlog is on (taken before the load reads a row)."""
    try:
        if not binlog_enabled(conn):
            log.info("binary log off: no replication start position recorded (replicate needs log_bin)")
            return None
        pos = head(conn)
        if pos is None:
            return None
        with conn.cursor() as cur:
            cur.execute("SELECT @@server_id")
            server_id = int(cur.fetchone()[0])
        record = {
            "file": pos.file,
            "pos": pos.pos,
            "gtid": gtid_pos(conn),
            "server_id": server_id,
            "taken_at": utcnow(),
        }
    except Exception as exc:  # e.g. no REPLICATION CLIENT privilege: the load itself does not need it
        log.warning(
            "could not record the binlog position for replicate (%s): the load goes on; to follow this "
            "run with `replicate`, grant the user REPLICATION CLIENT (MariaDB: BINLOG MONITOR) and "
            "REPLICATION SLAVE and migrate again (or give replicate --from-position FILE:POS)",
            exc,
        )
        return None
    run.write_json(START_FILE, record)
    log.info("binlog position before the load: %s:%s", record["file"], record["pos"])
    return record


def read_checkpoint(run: RunDir) -> Position | None:
    data = run.read_json(CHECKPOINT_FILE)
    if not data:
        return None
    return Position(str(data["file"]), int(data["pos"]))


def write_checkpoint(run: RunDir, pos: Position, **extra: Any) -> None:
    run.file("replicate").mkdir(exist_ok=True)
    run.write_json(CHECKPOINT_FILE, {"file": pos.file, "pos": pos.pos, "at": utcnow(), **extra})


def start_position(run: RunDir, explicit: str | None) -> tuple[Position, str]:
    """Where to start: ``--from-position``, else the checkpoint, else the migration's start."""
    if explicit:
        return Position.parse(explicit), "--from-position"
    cp = read_checkpoint(run)
    if cp is not None:
        return cp, "checkpoint"
    start = run.read_json(START_FILE)
    if start:
        return Position(str(start["file"]), int(start["pos"])), "migration start"
    raise SourceError(
        f"run {run.run_id} recorded no binlog position (the binary log was off when it ran)",
        hint="turn the binlog on (log_bin, binlog_format=ROW), then run a new full migrate or a "
        "`migrate --write-mode sync` and replicate from that run; or give --from-position FILE:POS",
        run=run.run_id,
    )


def check_server(conn: Any, start: Position) -> Position:
    """Stop with the fix when the server cannot feed replicate; returns the binlog head."""
    v = _variables(conn, ("log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata"))
    if (v["log_bin"] or "").upper() not in ("ON", "1"):
        raise SourceError(
            "the binary log is off on the source server: replicate reads row changes from it",
            hint="start the server with log_bin, binlog_format=ROW, binlog_row_image=FULL, "
            "binlog_row_metadata=FULL and a server_id (scripts/services.sh does), then run a new "
            "full migrate (its load records where replication starts)",
        )
    if (v["binlog_format"] or "").upper() != "ROW":
        raise SourceError(
            f"binlog_format is {v['binlog_format']}, not ROW: statements cannot be turned into row changes",
            hint="SET GLOBAL binlog_format = 'ROW' (and in the server's config), then a new full "
            "migrate or a sync run: changes logged as statements since were not replicated",
        )
    if v["binlog_row_image"] is not None and v["binlog_row_image"].upper() != "FULL":
        raise SourceError(
            f"binlog_row_image is {v['binlog_row_image']}, not FULL: row images lack columns replicate needs",
            hint="SET GLOBAL binlog_row_image = 'FULL' (and in the server's config)",
        )
    if v["binlog_row_metadata"] is not None and v["binlog_row_metadata"].upper() != "FULL":
        raise SourceError(
            f"binlog_row_metadata is {v['binlog_row_metadata']}, not FULL: the binlog does not name "
            "columns or say which integers are unsigned",
            hint="SET GLOBAL binlog_row_metadata = 'FULL' (and in the server's config); events "
            "logged before that are read with today's column names",
        )
    try:
        top = head(conn)
    except Exception as exc:
        raise SourceError(
            f"cannot read the binlog head (SHOW MASTER STATUS): {exc}",
            hint=GRANT_HINT,
        ) from None
    if top is None:
        raise SourceError("SHOW MASTER STATUS returned nothing", hint="turn the binlog on (log_bin)")
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        logs = [str(r[0]) for r in cur.fetchall()]
    if start.file not in logs:
        raise SourceError(
            f"binlog {start.file} (position {start}) is no longer on the server: it was purged "
            f"(oldest kept: {logs[0] if logs else 'none'})",
            hint="the changes since are lost to replication: run a new full migrate (or `migrate "
            "--write-mode sync`) and replicate from that run; keep binlogs longer "
            "(binlog_expire_logs_seconds)",
            position=str(start),
        )
    return top


def check_replication_grant(conn: Any) -> None:
    """REPLICATION SLAVE is what the binlog dump needs; say so before the library fails obscurely."""
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS")
        grants = " ".join(str(r[0]).upper() for r in cur.fetchall())
    if "ALL PRIVILEGES ON *.*" in grants:
        return
    if "REPLICATION SLAVE" not in grants and "REPLICATION REPLICA" not in grants:
        raise SourceError(
            "the MySQL user may not read the binary log (no REPLICATION SLAVE privilege)",
            hint=GRANT_HINT,
        )


def translate_stream_error(exc: BaseException, position: Position) -> SourceError | None:
    """The binlog dump's refusals as errors with the fix (None: not one of those)."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else str(exc)
    if code == 1236:
        return SourceError(
            f"the server cannot send the binlog from {position}: {text}",
            hint="the position was purged or never existed: run a new full migrate (or `migrate "
            "--write-mode sync`) and replicate from that run; keep binlogs longer "
            "(binlog_expire_logs_seconds)",
            position=str(position),
        )
    if code in (1227, 1045, 1142):
        return SourceError(
            f"the MySQL user may not read the binary log: {text}",
            hint=GRANT_HINT,
        )
    return None
