"""Direct MySQL/MariaDB connections, and the one place where driver errors become ours.

``connect`` opens a PyMySQL connection (utf8mb4, autocommit, the server's own time zone) and
:func:`translate_error` turns any ``pymysql`` error into a :class:`SourceError` (or
:class:`TransientSourceError` when a retry may help) carrying the MySQL error number as
``where["mysql_errno"]`` (rendered ``mysql_errno=1045`` in the message, which the troubleshooting
catalogue can key on) and a hint for the errors people actually hit. The password never appears:
PyMySQL does not put it in its messages, and we scrub it anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from dynamigrate.config import MySQLSettings
from dynamigrate.errors import SourceError, TransientSourceError
from dynamigrate.source.schema import dialect_from_version

log = logging.getLogger(__name__)

#: hints for the MySQL error numbers people hit while creating or reading views
HINTS: dict[int, str] = {
    1044: "the user may not use this database: GRANT the needed privileges on it",
    1045: "bad credentials: check mysql.user and the password (config file, MYSQL_PASSWORD or "
    "DYNAMIGRATE_MYSQL_PASSWORD)",
    1049: "unknown database: check mysql.database (or --database); SHOW DATABASES lists what exists",
    1054: "unknown column: the contract names a column the table does not have; run `dynamigrate "
    "contract lint` against the live schema",
    1064: "SQL syntax error: look at the statement near the quoted text",
    1142: "the user lacks a privilege on a table: GRANT SELECT (and CREATE VIEW to create views)",
    1146: "table missing: the contract names a table the database does not have (wrong database, or "
    "the table was renamed)",
    1227: "the user lacks a privilege (CREATE VIEW / SUPER for DEFINER): connect as a user allowed to "
    "create views",
    1356: "invalid view: a table or column the view uses was dropped or renamed since it was created; "
    "regenerate and re-apply the views (`dynamigrate views generate` then `views apply`)",
    2002: "cannot connect through the local socket: check mysql.host (use 127.0.0.1 for TCP) and that "
    "the server runs",
    2003: "cannot connect: check mysql.host and mysql.port, that the server runs, and that no "
    "firewall/security group blocks the port from this machine",
    2005: "unknown host: check mysql.host (DNS name or IP)",
    2006: "the server closed the connection; retrying usually works (check wait_timeout and "
    "max_allowed_packet if it keeps happening)",
    2013: "the connection was lost during a query; retrying usually works (check net_read_timeout / "
    "firewall idle timeouts if it keeps happening)",
}

#: errors where a retry may succeed
TRANSIENT_ERRNOS = frozenset({1040, 1205, 1213, 2006, 2013})


def connect(settings: MySQLSettings, database: str | None = None, **kw: Any) -> Any:
    """A PyMySQL connection (autocommit, utf8mb4, server time zone kept) or a SourceError.

    ``database`` overrides ``settings.database``; ``kw`` goes to ``pymysql.connect`` (for example
    ``cursorclass`` or ``read_timeout``).
    """
    import pymysql

    args = settings.connect_kwargs()
    if database is not None:
        args["database"] = database or None
    args["autocommit"] = True
    args.update(kw)
    try:
        return pymysql.connect(**args)
    except pymysql.MySQLError as exc:
        raise translate_error(
            exc,
            settings=settings,
            host=settings.host,
            port=settings.port,
            user=settings.user,
            database=args.get("database"),
        ) from None


def mysql_errno(exc: BaseException) -> int | None:
    """The MySQL error number of a PyMySQL error, if it has one."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def _scrub(text: str, settings: MySQLSettings | None) -> str:
    if settings is not None:
        secret = settings.password.reveal()
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def translate_error(
    exc: BaseException,
    *,
    settings: MySQLSettings | None = None,
    statement: str | None = None,
    context: str | None = None,
    **where: Any,
) -> SourceError:
    """Our error for a driver error: message, ``mysql_errno`` where-context, hint, transient flag.

    ``context`` (what we were doing, e.g. ``"loading the sample shop"``) prefixes the driver's message.
    """
    errno = mysql_errno(exc)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    raw = str(args[1]) if len(args) > 1 else str(exc)
    message = _scrub(raw, settings)
    if context:
        message = f"{context}: {message}"
    cls = TransientSourceError if errno in TRANSIENT_ERRNOS else SourceError
    if statement is not None:
        where.setdefault("statement", shorten_sql(statement))
    return cls(message, hint=HINTS.get(errno or -1), mysql_errno=errno, **where)


def shorten_sql(sql: str, limit: int = 120) -> str:
    """``sql`` on one line, cut to ``limit`` characters (for messages and logs)."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def server_version(conn: Any) -> str:
    """``SELECT VERSION()`` of a DB-API connection."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
    return str(row[0]) if row else ""


#: ``"mariadb"`` for a MariaDB version string (``10.11.6-MariaDB-...``), else ``"mysql"``
detect_dialect = dialect_from_version
