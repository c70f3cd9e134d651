"""dynamigrate as an MCP client: run DDL and small metadata queries through a MySQL MCP server.

In the AI-assisted workflows this tool belongs to, the assistant already holds a MySQL MCP server with
the user's credentials; the config file names it in the standard ``mcpServers`` form::

    {"mcpServers": {"mysql": {"command": "mysql_mcp_server", "args": [], "env": {"MYSQL_HOST": ...}}}}

:class:`McpSession` launches the server over stdio with the official ``mcp`` SDK and keeps the async
session in a background event loop (an anyio blocking portal), so callers stay synchronous.
:class:`McpExecutor` implements the :class:`~dynamigrate.source.executor.StatementExecutor` protocol
on top of it, through an adapter picked from the server's ``list_tools``:

* ``execute_sql {query}`` - PyPI ``mysql-mcp-server``: errors come back as plain text with
  ``isError`` false ("Error executing query: ..."), any ``;`` but a trailing one is refused, every call
  opens a new connection (no session state carries over), results are unquoted comma-separated text;
* ``run_query {sql}`` - awslabs' MySQL MCP server: read-only unless started with
  ``--allow_write_query`` (older releases: ``--readonly False``); rows come back as JSON; comments in
  queries are refused; error details arrive as log notifications.

Results through MCP are text: fine for DDL outcomes and small metadata, lossy for data, which is why
bulk reads never go through here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any

from dynamigrate.errors import McpError
from dynamigrate.source.connect import HINTS
from dynamigrate.source.executor import StatementResult
from dynamigrate.source.mcp_adapters import (
    _FATAL_ERRNOS,
    AwsLabsMysqlAdapter,
    MysqlMcpServerAdapter,
    SqlToolAdapter,
    guess_errno,
    pick_adapter,
)
from dynamigrate.source.mcp_session import (
    AWSLABS_PATTERN_HINT,
    AWSLABS_WRITE_HINT,
    INHERITED_PREFIXES,
    INJECTION_MARKER,
    MYSQL_SERVER_AWS_VARS,
    READONLY_MARKERS,
    McpFatalError,
    McpReadOnlyError,
    McpSession,
    ToolOutcome,
    _log_text,
    _masked_args,
    build_server_env,
)

__all__ = [
    "AWSLABS_PATTERN_HINT",
    "AWSLABS_WRITE_HINT",
    "INHERITED_PREFIXES",
    "INJECTION_MARKER",
    "MYSQL_SERVER_AWS_VARS",
    "READONLY_MARKERS",
    "AwsLabsMysqlAdapter",
    "McpExecutor",
    "McpFatalError",
    "McpReadOnlyError",
    "McpSession",
    "MysqlMcpServerAdapter",
    "SqlToolAdapter",
    "ToolOutcome",
    "_log_text",
    "_masked_args",
    "build_server_env",
    "guess_errno",
    "pick_adapter",
]

log = logging.getLogger(__name__)

# -------------------------------------------------------------------------------------- executor


_ASYNCMY_ERROR = re.compile(r"Database connection error: \((\d{4}), [\"'](.*?)[\"']\)\s*$", re.MULTILINE)


def _database_error_from_log(log_text: str) -> str | None:
    """MySQL's own error out of awslabs' server log: its answer carries only the exception type
    ("run_query unexpected error", ``{'error_type': 'OperationalError'}``), its stderr the whole error
    (``Database connection error: (1054, "Unknown column ...")``)."""
    found = _ASYNCMY_ERROR.findall(log_text)
    if not found:
        return None
    errno, message = found[-1]
    return f"{errno}: {message}"


class McpExecutor:
    """:class:`StatementExecutor` through an MCP server. ``config`` is its ``mcpServers`` block
    (``command``, ``args``, ``env``, optional ``cwd``) plus, from dynamigrate, ``default_env`` and
    ``tool_arguments``."""

    def __init__(
        self,
        config: Mapping[str, Any],
        name: str = "mysql",
        *,
        startup_timeout: float = 60.0,
        call_timeout: float = 300.0,
        probe: bool = True,
        database: str | None = None,
    ):
        """``database``: where the statements must land; the start-up probe checks that the server
        works in it (unqualified view names go to the server's default database)."""
        self.name = name
        self.expected_database = database or None
        self.path = f"mcp:{name}"
        command = config.get("command")
        if not command or not isinstance(command, str):
            raise McpFatalError(
                f"mcpServers.{name} has no command",
                hint='give the executable to launch: {"command": "mysql_mcp_server", "args": [], "env": {...}}',
                server=name,
            )
        if str(config.get("type") or config.get("transport") or "stdio") not in ("stdio",):
            raise McpFatalError(
                f"mcpServers.{name} uses transport '{config.get('type') or config.get('transport')}'; "
                "dynamigrate launches servers over stdio only",
                hint=f'give mcpServers.{name} the command that starts the server locally ({{"command": ..., '
                '"args": [...]}}), or use --via direct',
                server=name,
            )
        self._config = dict(config)
        self._command = command
        self._timeouts = (startup_timeout, call_timeout)
        self.server_version: str | None = None
        #: collation of the server's connections, and the server's default for that character set
        self.collation: str | None = None
        self.default_collation: str | None = None
        if "awslabs" in os.path.basename(command):
            # AWS Labs' server takes its connection from flags, RDS and Secrets Manager, never from
            # MYSQL_*: dynamigrate's own MySQL settings (password included) are not passed to it
            config = {k: v for k, v in config.items() if k != "default_env"}
        env = build_server_env(config)
        #: the server's default database (where unqualified names go), when it is a MYSQL_* server
        self.database: str | None = env.get("MYSQL_DATABASE")
        self._launch(env, probe)
        if probe:
            self._align_collation(env)

    def _launch(self, env: dict[str, str], probe: bool) -> None:
        startup_timeout, call_timeout = self._timeouts
        self.session = McpSession(
            self.name,
            self._command,
            list(self._config.get("args") or []),
            env,
            cwd=self._config.get("cwd"),
            startup_timeout=startup_timeout,
            call_timeout=call_timeout,
        )
        self.session.start()
        try:
            self.adapter = pick_adapter(
                self.name,
                self.session.tools,
                self._config.get("tool_arguments"),
                [str(a) for a in self._config.get("args") or []],
            )
            log.info(
                "MCP server '%s' (%s) offers %s; using %s {%s}",
                self.name,
                self.session.server_info or "unknown server",
                ", ".join(t.name for t in self.session.tools),
                self.adapter.tool,
                self.adapter.argument,
            )
            if probe:
                self._probe()
        except BaseException:
            self.session.close()
            raise

    def _align_collation(self, env: dict[str, str]) -> None:
        """Make the views' text literals carry the collation dynamigrate's own readers use.

        A view stores the connection collation it was created with; its literal columns (``_dm_entity``)
        carry it. mysql-mcp-server connects with utf8mb4_unicode_ci unless MYSQL_COLLATION says
        otherwise, while PyMySQL readers get the server's default (utf8mb4_general_ci on MariaDB,
        utf8mb4_0900_ai_ci on MySQL 8), and ``WHERE _dm_entity = %s`` then fails with "Illegal mix of
        collations". So, unless the block sets MYSQL_COLLATION itself, the server is restarted once with
        the server's default collation.
        """
        current, wanted = self.collation, self.default_collation
        if not current or not wanted or current == wanted:
            return
        explicit = "MYSQL_COLLATION" in (self._config.get("env") or {})
        if self.adapter.kind != MysqlMcpServerAdapter.kind or explicit:
            log.warning(
                "MCP server '%s' connects with collation %s but direct connections get %s: comparing the "
                "views' literal columns (such as _dm_entity) with parameters may fail with 'Illegal mix of "
                "collations'",
                self.name,
                current,
                wanted,
            )
            return
        log.info(
            "MCP server '%s' connects with collation %s, dynamigrate's readers with %s (the server's "
            "default): restarting it with MYSQL_COLLATION=%s so the views compare cleanly",
            self.name,
            current,
            wanted,
            wanted,
        )
        self.session.close()
        try:
            self._launch({**env, "MYSQL_COLLATION": wanted}, probe=True)
        except McpError as exc:
            log.warning(
                "restarting with MYSQL_COLLATION=%s failed (%s); keeping %s", wanted, exc.message, current
            )
            self._launch(env, probe=True)

    def _connect_awslabs(self) -> None:
        """Open the awslabs server's connection through its ``connect_to_database`` tool.

        Started without ``--db_type`` the server connects to nothing (every ``run_query`` answers "No
        database connection available"); started with it, 1.1.3 binds its pool's lock to the start-up
        self-test's event loop and every later query fails with "bound to a different event loop"
        (awslabs/mcp#4620). So dynamigrate connects itself, with the flags of the server's command
        line (and mcp.tool_arguments), the way an assistant calls the tool."""
        tool = next((t for t in self.session.tools if t.name == "connect_to_database"), None)
        if tool is None or not isinstance(self.adapter, AwsLabsMysqlAdapter):
            return
        arguments, missing = self.adapter.connect_arguments(tool)
        if missing:
            raise McpFatalError(
                f"MCP server '{self.name}' has no database connection and connect_to_database needs "
                + ", ".join(missing),
                hint=f"give them in mcpServers.{self.name}.args (--connection_method, --db_cluster_arn, "
                '--db_endpoint, --port, --database, --region) or as {"mcp": {"tool_arguments": {...}}}',
                server=self.name,
            )
        log.info(
            "MCP server '%s' has no database connection yet: calling connect_to_database (%s)",
            self.name,
            ", ".join(f"{k}={v}" for k, v in sorted(arguments.items())),
        )
        outcome = self.session.call_tool("connect_to_database", arguments)
        text = outcome.protocol_error or outcome.text
        failed = bool(outcome.protocol_error) or outcome.is_error
        with contextlib.suppress(ValueError):
            answer = json.loads(outcome.text)
            if isinstance(answer, dict) and answer.get("status") == "Failed":
                failed = True
                text = f"{answer.get('error_type')}: {answer.get('error_message')}"
        if failed:
            raise McpFatalError(
                f"MCP server '{self.name}' could not connect to the database ({text})",
                hint=self._stderr_hint_for_connect(),
                server=self.name,
            )

    def _stderr_hint_for_connect(self) -> str:
        tail = self.session.stderr_tail()
        base = (
            "the server looks the endpoint up in RDS (DescribeDBClusters / DescribeDBInstances), reads the "
            "password from the cluster's MasterUserSecret and connects with TLS; check --db_cluster_arn, "
            "--db_endpoint (one the cluster advertises), --region and --ca_bundle"
        )
        return f"{base}; the server's last output:\n{tail}" if tail else base

    def _probe(self) -> None:
        """One cheap query, so that unusable connection settings fail at start (where a fallback to a
        direct connection is still possible) rather than once per statement."""
        probe_sql = (
            "SELECT VERSION(), DATABASE(), @@collation_connection, (SELECT DEFAULT_COLLATE_NAME FROM "
            "information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = @@character_set_connection)"
        )
        result = self.execute(probe_sql)
        if not result.ok and "No database connection available" in (result.error or ""):
            self._connect_awslabs()
            result = self.execute(probe_sql)
        if not result.ok and "run_query unexpected error" in (result.error or ""):
            raise McpFatalError(
                f"MCP server '{self.name}' cannot query the database: {result.error}",
                hint=(
                    "if it was started with --db_type, remove that flag: awslabs.mysql-mcp-server 1.1.3 "
                    "then fails every query with 'bound to a different event loop' (awslabs/mcp#4620); "
                    "without it dynamigrate connects through connect_to_database. "
                )
                + self._stderr_hint_for_connect(),
                server=self.name,
            )
        if not result.ok:
            hint = result.hint + "; " if result.hint else ""
            if "Missing required database configuration" in (result.error or ""):
                hint = (
                    "the server needs at least MYSQL_USER and MYSQL_PASSWORD: put them in "
                    f"mcpServers.{self.name}.env, or give dynamigrate mysql.user and a password "
                    "(MYSQL_PASSWORD / DYNAMIGRATE_MYSQL_PASSWORD), which it passes on; "
                )
            raise McpFatalError(
                f"MCP server '{self.name}' cannot query the database: {result.error}",
                hint=hint + f"the server connects with the settings in mcpServers.{self.name}.env",
                server=self.name,
            )
        rows = result.rows if isinstance(result.rows, list) else []
        if not rows or not rows[0]:
            return
        values = [None if v in (None, "", "None") else str(v) for v in rows[0]] + [None] * 4
        self.server_version, current, self.collation, self.default_collation = values[:4]
        if current:
            self.database = current
        if self.expected_database and current != self.expected_database:
            raise McpFatalError(
                f"MCP server '{self.name}' works in database '{current or '(none)'}' but the statements "
                f"belong in '{self.expected_database}'",
                hint=f"set MYSQL_DATABASE={self.expected_database} in mcpServers.{self.name}.env (or leave "
                "it out: dynamigrate fills it from mysql.database), or use --via direct",
                server=self.name,
            )

    def describe(self) -> str:
        return f"{self.session.command}, tool {self.adapter.tool}"

    def execute(self, sql: str) -> StatementResult:
        text, refusal = self.adapter.prepare(sql)
        if refusal:
            return StatementResult(
                sql,
                False,
                self.path,
                error=refusal,
                hint="apply this statement with --via direct (or --allow-fallback)",
                unsendable=True,
            )
        start = time.perf_counter()
        mark = self.session.stderr_size()
        outcome = self.session.call_tool(self.adapter.tool, self.adapter.arguments(text))
        duration = time.perf_counter() - start
        ok, error = self.adapter.interpret(outcome)
        if not ok and error and "run_query unexpected error" in error:
            error = _database_error_from_log(self.session.stderr_since(mark)) or error
        if not ok and INJECTION_MARKER in (error or ""):
            return StatementResult(
                sql,
                False,
                self.path,
                duration,
                # the server's details repeat the whole statement: its own sentence is enough
                error=(error or "").split(": Query parameter contains suspicious pattern")[0],
                hint=AWSLABS_PATTERN_HINT,
                unsendable=True,
            )
        if ok:
            rows: list[tuple[Any, ...]] | str | None
            try:
                rows = self.adapter.rows(outcome)
            except (ValueError, TypeError):
                rows = outcome.text
            return StatementResult(sql, True, self.path, duration, rows=rows)
        message = error or "failed"
        errno = guess_errno(message)
        if errno in _FATAL_ERRNOS:
            raise McpFatalError(
                f"MCP server '{self.name}' cannot reach the database: {message}",
                hint=f"the server connects with MYSQL_HOST/PORT/USER/PASSWORD of mcpServers.{self.name}.env "
                "(dynamigrate fills the ones missing there from mysql.* and the environment): "
                + HINTS.get(errno or -1, "check them"),
                server=self.name,
                mysql_errno=errno,
            )
        return StatementResult(
            sql,
            False,
            self.path,
            duration,
            error=message,
            error_code=errno,
            hint=HINTS.get(errno or -1),
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.execute(sql).rows_or_raise(McpError)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> McpExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
