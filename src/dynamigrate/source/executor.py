"""Statement executors: how DDL and small metadata queries reach MySQL.

Two implementations of one small protocol:

* :class:`DirectExecutor` - a PyMySQL connection (``path == "direct"``);
* :class:`dynamigrate.source.mcp_client.McpExecutor` - through an MCP server the user's assistant
  already uses (``path == "mcp:<server>"``).

Only DDL (``CREATE OR REPLACE VIEW``) and small metadata queries go through an executor. Bulk reading
of rows always uses a direct connection: MCP servers return rows as text, which loses types, NULLs
and anything containing the separator.

:func:`apply_statements` runs every statement independently and records each outcome, so one broken
view never hides the others; :func:`choose_executor` picks the path from the configuration and says
why in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dynamigrate.config import Config, MySQLSettings
from dynamigrate.errors import ConfigError, DynamigrateError, McpError, SourceError
from dynamigrate.source.connect import shorten_sql
from dynamigrate.source.sqlsplit import create_view_name

if TYPE_CHECKING:
    from dynamigrate.source.mcp_client import McpExecutor

log = logging.getLogger(__name__)

VIA_CHOICES = ("auto", "mcp", "direct")


@dataclass
class StatementResult:
    """The outcome of one statement."""

    sql: str
    ok: bool
    path: str
    duration_s: float = 0.0
    error: str | None = None
    error_code: int | None = None
    hint: str | None = None
    label: str | None = None
    rows: list[tuple[Any, ...]] | str | None = None
    skipped: bool = False
    #: the error stopped the run (no later statement could succeed on this path)
    fatal: bool = False
    #: this path cannot take the statement at all (another path might)
    unsendable: bool = False

    def rows_or_raise(self, error: type[SourceError] = SourceError) -> list[tuple[Any, ...]]:
        """The rows of a successful query, else ``error`` with the statement's message and hint."""
        if not self.ok:
            raise error(
                self.error or "query failed",
                hint=self.hint,
                mysql_errno=self.error_code,
                path=self.path,
                statement=shorten_sql(self.sql),
            )
        return list(self.rows) if isinstance(self.rows, list) else []

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "ok": self.ok,
            "path": self.path,
            "duration_s": round(self.duration_s, 4),
        }
        if self.skipped:
            out["skipped"] = True
        if self.error is not None:
            out["error"] = self.error
            out["error_code"] = self.error_code
            out["hint"] = self.hint
        out["sql"] = self.sql
        return out


@runtime_checkable
class StatementExecutor(Protocol):
    """Runs statements one at a time. ``path`` is ``"direct"`` or ``"mcp:<server>"``."""

    path: str

    def execute(self, sql: str) -> StatementResult:
        """Run one statement; failures are recorded in the result, not raised.

        May raise :class:`McpError` (``fatal``) when no further statement can succeed (read-only
        server, server gone).
        """
        ...

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a small metadata query; raises SourceError on failure."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class DirectExecutor:
    """Statements over one PyMySQL connection (opened on first use, re-opened if it dropped)."""

    path = "direct"

    def __init__(self, settings: MySQLSettings, database: str | None = None, *, connect_now: bool = False):
        self.settings = settings
        self.database = settings.database if database is None else database
        self._conn: Any = None
        if connect_now:
            self._connection()

    def _connection(self) -> Any:
        from dynamigrate.source.connect import connect

        if self._conn is None:
            self._conn = connect(self.settings, database=self.database)
        else:
            try:
                self._conn.ping(reconnect=False)
            except Exception:  # dropped (server restart, idle timeout): open a new one
                self.close()
                self._conn = connect(self.settings, database=self.database)
        return self._conn

    def describe(self) -> str:
        db = f"/{self.database}" if self.database else ""
        return f"direct connection to {self.settings.user}@{self.settings.host}:{self.settings.port}{db}"

    def execute(self, sql: str) -> StatementResult:
        import pymysql

        from dynamigrate.source.connect import translate_error

        start = time.perf_counter()
        try:
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute(sql)
                rows = [tuple(r) for r in cur.fetchall()] if cur.description else None
            return StatementResult(sql, True, self.path, time.perf_counter() - start, rows=rows)
        except (pymysql.MySQLError, SourceError) as exc:  # SourceError: connecting failed
            err = exc if isinstance(exc, SourceError) else translate_error(exc, settings=self.settings)
            return StatementResult(
                sql,
                False,
                self.path,
                time.perf_counter() - start,
                error=err.message,
                error_code=err.mysql_errno,
                hint=err.hint,
            )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.execute(sql).rows_or_raise(SourceError)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already closed or broken: nothing left to release
                log.debug("closing the direct connection failed", exc_info=True)
            self._conn = None

    def __enter__(self) -> DirectExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------- apply


@dataclass
class ApplyReport:
    """Outcome of applying a list of statements through one executor."""

    path: str
    executor: str
    results: list[StatementResult] = field(default_factory=list)
    aborted: str | None = None
    duration_s: float = 0.0
    #: why some statements were re-run over a direct connection (``--allow-fallback``)
    fallback: str | None = None

    @property
    def failed(self) -> list[StatementResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None

    def failed_labels(self) -> list[str]:
        return [r.label or shorten_sql(r.sql, 60) for r in self.failed]

    def render_text(self) -> str:
        n_ok = sum(1 for r in self.results if r.ok)
        lines = [
            f"applied {len(self.results)} statement(s) via {self.path} ({self.executor}): "
            f"{n_ok} ok, {len(self.failed)} failed"
        ]
        names = [
            (r.label or shorten_sql(r.sql, 60)) + (f" [{r.path}]" if r.path != self.path else "")
            for r in self.results
        ]
        width = max((len(n) for n in names), default=10)
        if self.fallback:
            lines.append(f"fallback: {self.fallback}")
        for r, name in zip(self.results, names, strict=True):
            label = name.ljust(width)
            if r.ok:
                lines.append(f"  ok       {label}  {r.duration_s:7.3f}s")
                continue
            status = "skipped" if r.skipped else "ERROR"
            code = f" (mysql_errno={r.error_code})" if r.error_code else ""
            lines.append(f"  {status:<8} {label}  {r.duration_s:7.3f}s  {r.error}{code}")
            if r.hint:
                lines.append(f"  {'':<8} {'':<{width}}  hint: {r.hint}")
        if self.aborted:
            lines.append(f"aborted: {self.aborted}")
        if self.failed:
            lines.append("failed: " + ", ".join(self.failed_labels()))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "executor": self.executor,
            "ok": self.ok,
            "statements": len(self.results),
            "failed": self.failed_labels(),
            "aborted": self.aborted,
            "fallback": self.fallback,
            "duration_s": round(self.duration_s, 4),
            "results": [r.to_dict() for r in self.results],
        }


def _label_and_sql(item: Any) -> tuple[str | None, str]:
    """Accepts ``(label, sql)`` pairs, plain SQL strings and statement objects.

    Statement objects (the view engineer's ``ViewStatement``) are read through ``sql`` and the first
    of ``view_name`` / ``name`` / ``label`` they have.
    """
    if isinstance(item, str):
        return create_view_name(item), item
    if isinstance(item, tuple) and len(item) == 2:
        return item[0], item[1]
    sql = getattr(item, "sql", None)
    if not isinstance(sql, str):
        raise TypeError(f"cannot apply {item!r}: expected SQL text, (label, sql) or an object with .sql")
    for attr in ("view_name", "name", "label"):
        value = getattr(item, attr, None)
        if isinstance(value, str) and value:
            return value, sql
    return create_view_name(sql), sql


def apply_statements(executor: StatementExecutor, statements: Iterable[Any]) -> ApplyReport:
    """Run every statement independently, recording each outcome; never stops at the first failure.

    Only an error the executor marks ``fatal`` (no further statement can succeed: a read-only MCP
    server, a server that died) stops the run; the remaining statements are recorded as skipped.
    """
    report = ApplyReport(path=executor.path, executor=executor.describe())
    items = [_label_and_sql(s) for s in statements]
    started = time.perf_counter()
    for index, (label, sql) in enumerate(items):
        try:
            result = executor.execute(sql)
        except DynamigrateError as exc:
            if not getattr(exc, "fatal", False):
                raise
            report.results.append(
                StatementResult(
                    sql, False, executor.path, error=exc.message, hint=exc.hint, label=label, fatal=True
                )
            )
            report.aborted = exc.message
            for later_label, later_sql in items[index + 1 :]:
                report.results.append(
                    StatementResult(
                        later_sql,
                        False,
                        executor.path,
                        error="not run: an earlier statement hit a fatal error",
                        label=later_label,
                        skipped=True,
                    )
                )
            log.error("stopping after %s: %s", label or "statement", exc)
            break
        result.label = label
        if result.ok:
            log.info("ok %s (%.3fs via %s)", label or shorten_sql(sql, 60), result.duration_s, result.path)
        else:
            log.warning("failed %s via %s: %s", label or shorten_sql(sql, 60), result.path, result.error)
        report.results.append(result)
    report.duration_s = time.perf_counter() - started
    return report


def apply_with_fallback(
    cfg: Config,
    executor: StatementExecutor,
    statements: Iterable[Any],
    allow_fallback: bool = False,
    database: str | None = None,
) -> ApplyReport:
    """:func:`apply_statements`, then - only when ``allow_fallback`` and the path was MCP - re-run over
    a direct connection the statements the MCP path could not take: the one that hit a fatal error
    (read-only server, server gone) and those skipped after it, and statements the server refuses by
    shape (a ';' inside a literal for mysql-mcp-server). Plain SQL errors are not retried: they would
    fail the same way."""
    report = apply_statements(executor, statements)
    if not allow_fallback or executor.path == "direct":
        return report
    retry = [i for i, r in enumerate(report.results) if r.fatal or r.skipped or r.unsendable]
    if not retry:
        return report
    reason = report.aborted or "statements the MCP server cannot take"
    log.warning(
        "%s: applying %d statement(s) over a direct connection because --allow-fallback",
        reason,
        len(retry),
    )
    try:
        direct = _direct(cfg, database)
    except DynamigrateError as exc:
        report.fallback = f"{reason}; the direct connection failed too: {exc.message}"
        return report
    try:
        again = apply_statements(direct, [(report.results[i].label, report.results[i].sql) for i in retry])
    finally:
        direct.close()
    for i, result in zip(retry, again.results, strict=True):
        report.results[i] = result
    report.fallback = f"{reason}: {len(retry)} statement(s) re-run over a direct connection"
    report.aborted = again.aborted
    return report


# --------------------------------------------------------------------------------------- selection


def configured_mcp_server(cfg: Config, name: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The MCP server block to use: ``name`` if given, else ``mcp.server`` from the config file, else
    the only server, else one called ``mysql``, else the only one whose name mentions mysql."""
    servers = cfg.mcp_servers or {}
    wanted = name or _mcp_section(cfg).get("server")
    if wanted:
        if wanted not in servers:
            raise ConfigError(
                f"MCP server '{wanted}' is not configured",
                hint="configured servers: "
                + (", ".join(sorted(servers)) or "none")
                + " (the config file's top-level mcpServers block)",
            )
        return wanted, servers[wanted]
    enabled = {k: v for k, v in servers.items() if isinstance(v, dict) and not v.get("disabled")}
    if not enabled:
        return None
    if len(enabled) == 1:
        return next(iter(enabled.items()))
    if "mysql" in enabled:
        return "mysql", enabled["mysql"]
    mysqlish = [k for k in enabled if "mysql" in k.lower()]
    if len(mysqlish) == 1:
        return mysqlish[0], enabled[mysqlish[0]]
    raise ConfigError(
        "several MCP servers are configured and none is obviously the MySQL one: "
        + ", ".join(sorted(enabled)),
        hint='name it with {"mcp": {"server": "<name>"}} in the config file (or --mcp-server)',
    )


def mcp_server_settings(cfg: Config, block: dict[str, Any], database: str | None = None) -> dict[str, Any]:
    """The server block plus what dynamigrate adds: defaults for MYSQL_* taken from our own resolved
    MySQL settings (used only where neither the block nor the environment sets them) and optional
    extra tool arguments from ``mcp.tool_arguments``."""
    out = dict(block)
    m = cfg.mysql
    defaults = {
        "MYSQL_HOST": m.host,
        "MYSQL_PORT": str(m.port),
        "MYSQL_USER": m.user,
        "MYSQL_PASSWORD": m.password.reveal(),
        "MYSQL_DATABASE": database or m.database,
    }
    out["default_env"] = {k: v for k, v in defaults.items() if v}
    tool_arguments = _mcp_section(cfg).get("tool_arguments")
    if tool_arguments:
        out["tool_arguments"] = dict(tool_arguments)
    return out


def _mcp_section(cfg: Config) -> dict[str, Any]:
    """The config file's ``mcp`` block (``server``, ``tool_arguments``, ``config_file``), or {}."""
    section = cfg.raw.get("mcp")
    return section if isinstance(section, dict) else {}


def choose_executor(
    cfg: Config,
    via: str = "auto",
    allow_fallback: bool = False,
    *,
    server: str | None = None,
    database: str | None = None,
) -> StatementExecutor:
    """The executor for ``via`` (auto = MCP when a server is configured, else direct), logging which
    path runs and why. A failing MCP server falls back to a direct connection only when
    ``allow_fallback`` is set."""
    if via not in VIA_CHOICES:
        raise ConfigError(f"--via must be one of {', '.join(VIA_CHOICES)}, not '{via}'")
    where = f"configured in {cfg.source_path}" if cfg.source_path else "configured"

    if via == "direct":
        log.info("using a direct connection (--via direct)")
        return _direct(cfg, database)

    picked = configured_mcp_server(cfg, server)
    if picked is None:
        if via == "mcp":
            raise ConfigError(
                "--via mcp but no MCP server is configured",
                hint='add {"mcpServers": {"mysql": {"command": "mysql_mcp_server", "env": {...}}}} to the '
                "config file (see docs/mcp.md), or use --via direct",
            )
        log.info("no MCP server configured: direct connection")
        return _direct(cfg, database)

    name, block = picked
    try:
        executor = _mcp(cfg, name, block, database)
    except McpError as exc:
        if not allow_fallback:
            raise
        log.warning(
            "MCP server '%s' failed to start (%s): falling back to direct connection because --allow-fallback",
            name,
            exc.message,
        )
        return _direct(cfg, database)
    log.info("using MCP server '%s' (%s mcpServers)", name, where)
    return executor


def _direct(cfg: Config, database: str | None) -> DirectExecutor:
    return DirectExecutor(cfg.mysql, database=database, connect_now=True)


def _mcp(cfg: Config, name: str, block: dict[str, Any], database: str | None) -> McpExecutor:
    from dynamigrate.source.mcp_client import McpExecutor

    wanted = database or cfg.mysql.database or None
    return McpExecutor(mcp_server_settings(cfg, block, wanted), name=name, database=wanted)


def statements_from(items: Sequence[Any]) -> list[tuple[str | None, str]]:
    """``(label, sql)`` pairs for anything :func:`apply_statements` accepts (for callers that print)."""
    return [_label_and_sql(s) for s in items]
