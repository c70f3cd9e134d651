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

import ast
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import is_secret_name, masked_args
from dynamigrate.errors import McpError
from dynamigrate.source.connect import HINTS
from dynamigrate.source.executor import StatementResult
from dynamigrate.source.sqlsplit import clean_for_single_call, semicolon_inside

log = logging.getLogger(__name__)

# JSON-RPC error codes the SDK uses for a dead connection and a request that timed out
_CONNECTION_CLOSED = -32000
_REQUEST_TIMEOUT = -32001

INHERITED_PREFIXES = ("MYSQL_", "AWS_")
#: what a MySQL MCP server inherits from our environment: its MYSQL_* settings and where AWS settings
#: live (an RDS Data API server reads its credentials through the profile), never the AWS keys
MYSQL_SERVER_AWS_VARS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)

#: what to install when a configured command is missing
INSTALL_HINTS: dict[str, str] = {
    "mysql_mcp_server": "install it with `pip install mysql-mcp-server` in its own virtualenv (it pins "
    "mcp<2; scripts/mcp-venv.sh builds one) and put the executable's absolute path in "
    "mcpServers.<name>.command",
    "awslabs.mysql-mcp-server": "install it with `pip install awslabs-mysql-mcp-server` in its own virtualenv "
    "(scripts/mcp-venv.sh awslabs-mysql builds one) and put the executable's absolute path in "
    "mcpServers.<name>.command",
    "awslabs.aws-dataprocessing-mcp-server": "install it with `pip install awslabs-aws-dataprocessing-mcp-server` "
    "in its own virtualenv (scripts/mcp-venv.sh awslabs-glue builds one) and put the executable's absolute "
    "path in mcpServers.<name>.command",
    "uvx": "install uv (`pip install uv`), or install the server and give its executable's absolute path",
    "uv": "install uv (`pip install uv`), or install the server and give its executable's absolute path",
    "npx": "install Node.js (npx), or give the absolute path of the server's executable",
    "docker": "install Docker, or run the server without a container",
}

READONLY_MARKERS = ("only allows readonly query", "read-only mode", "readonly mode")
#: awslabs' answer when its pattern check refuses a statement (UNION ... SELECT, DROP, TRUNCATE, ...)
INJECTION_MARKER = "risky injection patterns"
AWSLABS_PATTERN_HINT = (
    "awslabs.mysql-mcp-server refuses any statement matching its injection patterns (UNION ... SELECT, "
    "which every multi-entity view holds, DROP, TRUNCATE, SLEEP(...), OR 1=1 ...), whatever its write flag: "
    "apply this one with --via direct, or let --allow-fallback re-run it over a direct connection"
)
AWSLABS_WRITE_HINT = (
    "the MCP server runs read-only: start it with --allow_write_query in mcpServers.<name>.args (releases "
    "before 1.0.22 take --readonly False), or apply the views with --via direct"
)


class McpFatalError(McpError):
    """No further statement can succeed through this server (read-only, unreachable, gone)."""

    fatal = True


class McpReadOnlyError(McpFatalError):
    code = "DM451"


# ------------------------------------------------------------------------------------ tool calls


@dataclass
class ToolOutcome:
    """What one ``tools/call`` returned: its text, flags, structured content and log messages."""

    text: str
    is_error: bool = False
    structured: Any = None
    texts: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    protocol_error: str | None = None


def _secret_values(env: Mapping[str, str]) -> list[str]:
    return [v for k, v in env.items() if v and len(v) >= 3 and is_secret_name(k)]


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


def _flatten_exception(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio task groups wrap errors in them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _log_text(data: Any) -> str:
    """A server log message as text; dict-shaped payloads (awslabs sends ``str({'message': ...})``)
    become "code: message"."""
    if isinstance(data, str) and data.startswith("{"):
        with contextlib.suppress(ValueError, SyntaxError):
            data = ast.literal_eval(data)
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("code", "message", "details") if data.get(k)]
        return ": ".join(parts) if parts else json.dumps(data, default=str)
    return data if isinstance(data, str) else json.dumps(data, default=str)


def build_server_env(block: Mapping[str, Any], *, aws_credentials: bool = False) -> dict[str, str]:
    """The server's extra environment: its block's ``env``, then dynamigrate's resolved MySQL settings
    (``default_env``), then ``MYSQL_*`` and the AWS region/profile settings from our environment, each
    only where still absent. ``aws_credentials`` (an AWS server such as Glue's) passes every ``AWS_*``
    variable, keys included; a MySQL server never gets them.

    The SDK's stdio client passes only HOME/PATH/SHELL/TERM/USER/LOGNAME to the child, so everything
    the server needs has to be listed here explicitly.
    """
    env = {str(k): str(v) for k, v in (block.get("env") or {}).items() if v is not None}
    for k, v in (block.get("default_env") or {}).items():
        if v:
            env.setdefault(str(k), str(v))
    for k, v in os.environ.items():
        if k.startswith("MYSQL_") or k in MYSQL_SERVER_AWS_VARS or (aws_credentials and k.startswith("AWS_")):
            env.setdefault(k, v)
    return env


_masked_args = masked_args  # the config's one implementation


class McpSession:
    """A synchronous facade over an MCP stdio client session running in a background event loop."""

    def __init__(
        self,
        name: str,
        command: str,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        *,
        startup_timeout: float = 60.0,
        call_timeout: float = 300.0,
    ):
        self.name = name
        self.command = command
        self.args = [str(a) for a in (args or [])]
        self.env = dict(env or {})
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.call_timeout = call_timeout
        self.tools: list[Any] = []
        self.server_info: str | None = None
        self._secrets = _secret_values(self.env)
        self._logs: list[str] = []
        self._errlog = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._portal_cm: Any = None
        self._portal: Any = None
        self._future: Future[Any] | None = None
        self._stop: Any = None
        self._session: Any = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------
    def resolve_command(self) -> str:
        """The executable's path, or McpError with an install hint."""
        search_path = self.env.get("PATH") or os.environ.get("PATH", "")
        found = shutil.which(self.command, path=search_path)
        if found:
            return found
        base = os.path.basename(self.command)
        hint = INSTALL_HINTS.get(
            base,
            "install the MCP server, or give the absolute path of its executable in mcpServers.<name>.command",
        ).replace("<name>", self.name)
        raise McpFatalError(f"MCP server command '{self.command}' not found", hint=hint, server=self.name)

    def start(self) -> McpSession:
        from anyio.from_thread import start_blocking_portal

        command = self.resolve_command()
        log.info(
            "starting MCP server '%s': %s %s (env: %s; values not shown)",
            self.name,
            command,
            " ".join(_masked_args(self.args)),
            ", ".join(sorted(self.env)) or "none",
        )
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._future, (self._session, self._stop) = self._portal.start_task(
                self._lifecycle, command, name=f"mcp-{self.name}"
            )
        except BaseException as exc:  # startup failed: tear the loop down, report what we know
            self._shutdown_portal()
            leaf = _flatten_exception(exc)
            if isinstance(leaf, McpError):
                raise leaf from None
            if isinstance(leaf, TimeoutError | asyncio.CancelledError):
                reason = f"no answer within {self.startup_timeout:.0f}s"
            else:
                reason = f"{type(leaf).__name__}: {leaf}"
            raise McpFatalError(
                f"MCP server '{self.name}' failed to start ({self._scrub(reason)})",
                hint=self._stderr_hint(),
                server=self.name,
            ) from None
        return self

    async def _lifecycle(self, command: str, *, task_status: Any) -> None:
        import anyio
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(command=command, args=self.args, env=self.env, cwd=self.cwd)
        async with (
            stdio_client(params, errlog=self._errlog) as (read, write),
            ClientSession(read, write, logging_callback=self._on_log) as session,
        ):
            with anyio.fail_after(self.startup_timeout):
                init = await session.initialize()
                tools: list[Any] = []
                cursor = None
                while True:
                    from mcp.types import PaginatedRequestParams

                    listing = await session.list_tools(
                        params=PaginatedRequestParams(cursor=cursor) if cursor else None
                    )
                    tools.extend(listing.tools)
                    cursor = listing.next_cursor
                    if not cursor:
                        break
            self.tools = tools
            info = getattr(init, "server_info", None)
            if info is not None:
                self.server_info = f"{info.name} {info.version}"
            stop = anyio.Event()
            task_status.started((session, stop))
            await stop.wait()

    async def _on_log(self, params: Any) -> None:
        self._logs.append(_log_text(params.data))

    def _shutdown_portal(self) -> None:
        if self._portal_cm is not None:
            with contextlib.suppress(BaseException):
                self._portal_cm.__exit__(None, None, None)
        self._portal_cm = self._portal = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._portal is not None and self._stop is not None:
            with contextlib.suppress(BaseException):
                self._portal.call(self._stop.set)
            if self._future is not None:
                with contextlib.suppress(BaseException):
                    self._future.result(timeout=15)
        self._shutdown_portal()
        with contextlib.suppress(OSError):
            self._errlog.close()

    # -- calls ----------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._future is not None and not self._future.done() and not self._closed

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call a tool; JSON-RPC errors become ``protocol_error``; a dead session is fatal."""
        if not self.alive:
            raise McpFatalError(
                f"MCP server '{self.name}' is not running", hint=self._stderr_hint(), server=self.name
            )
        try:
            return self._portal.call(self._call_tool, tool, arguments)
        except McpError:
            raise
        except BaseException as exc:
            leaf = _flatten_exception(exc)
            raise McpFatalError(
                f"MCP server '{self.name}' stopped answering ({type(leaf).__name__}: {self._scrub(str(leaf))})",
                hint=self._stderr_hint(),
                server=self.name,
            ) from None

    async def _call_tool(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        from mcp.shared.exceptions import MCPError

        self._logs = []
        try:
            result = await self._session.call_tool(tool, arguments, read_timeout_seconds=self.call_timeout)
        except MCPError as exc:
            if exc.code == _CONNECTION_CLOSED:
                raise McpFatalError(
                    f"MCP server '{self.name}' closed the connection (it exited or crashed)",
                    hint=self._stderr_hint(),
                    server=self.name,
                ) from None
            if exc.code == _REQUEST_TIMEOUT:
                return ToolOutcome(
                    text="",
                    protocol_error=f"no answer within {self.call_timeout:.0f}s ({exc.message})",
                    logs=list(self._logs),
                )
            return ToolOutcome(text="", protocol_error=str(exc.message), logs=list(self._logs))
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        return ToolOutcome(
            text="\n".join(texts),
            is_error=bool(result.is_error),
            structured=result.structured_content,
            texts=texts,
            logs=list(self._logs),
        )

    # -- diagnostics ----------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return _scrub(text, self._secrets)

    def stderr_size(self) -> int:
        """How much the server has written to its stderr so far (a mark for :meth:`stderr_since`)."""
        try:
            self._errlog.flush()
            return self._errlog.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return 0

    def stderr_since(self, mark: int) -> str:
        """What the server wrote to its stderr after ``mark`` (secrets scrubbed)."""
        try:
            self._errlog.flush()
            self._errlog.seek(mark)
            return self._scrub(self._errlog.read())
        except (OSError, ValueError):
            return ""

    def stderr_tail(self, limit: int = 1500) -> str:
        try:
            self._errlog.flush()
            self._errlog.seek(0)
            text = self._errlog.read()
        except (OSError, ValueError):
            return ""
        lines = text.strip().splitlines()[-12:]
        return self._scrub("\n".join(lines)[-limit:])

    def _stderr_hint(self) -> str:
        tail = self.stderr_tail()
        base = f"check mcpServers.{self.name} (command, args, env) in the config file"
        return f"{base}; the server's last output:\n{tail}" if tail else base


# -------------------------------------------------------------------------------------- adapters

_ERRNO_PATTERNS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"Table '[^']*' doesn't exist"), 1146),
    (re.compile(r"Unknown column"), 1054),
    (re.compile(r"Unknown database"), 1049),
    (re.compile(r"You have an error in your SQL syntax"), 1064),
    (re.compile(r"references invalid table\(s\) or column\(s\)"), 1356),
    (re.compile(r"Access denied for user .*\(using password"), 1045),
    (re.compile(r"Access denied for user .* to database"), 1044),
    (re.compile(r"command denied to user"), 1142),
    (re.compile(r"Can't connect to (MySQL|MariaDB) server"), 2003),
]

#: errors after which no statement can succeed through the server (its connection settings are wrong)
_FATAL_ERRNOS = frozenset({1045, 2003, 2005})


def guess_errno(message: str) -> int | None:
    """MySQL error number for a text-only error message (MCP servers drop the number)."""
    m = re.match(r"\s*(\d{4})(?:\s*\([0-9A-Z]{5}\))?\s*:", message)
    if m:
        return int(m.group(1))
    for pattern, errno in _ERRNO_PATTERNS:
        if pattern.search(message):
            return errno
    return None


class SqlToolAdapter:
    """How to call one server's SQL tool and read what it answers."""

    kind = "generic"
    tool = ""
    argument = ""

    def __init__(
        self,
        server: str,
        tool: Any,
        extra_arguments: Mapping[str, Any] | None = None,
        server_args: list[str] | None = None,
    ):
        self.server = server
        self.tool_info = tool
        schema = getattr(tool, "input_schema", None) or {}
        properties = set(schema.get("properties") or {})
        #: every argument known for this server: from its command line, then mcp.tool_arguments
        self.known: dict[str, Any] = {
            **self.arguments_from_command_line(server_args or []),
            **dict(extra_arguments or {}),
        }
        self.extra = {k: v for k, v in self.known.items() if k in properties or not properties}
        required = set(schema.get("required") or [])
        missing = sorted(required - {self.argument} - set(self.extra))
        if missing:
            raise McpFatalError(
                f"MCP tool '{self.tool}' of server '{server}' needs arguments dynamigrate cannot fill: "
                + ", ".join(missing),
                hint='give them in the config file as {"mcp": {"tool_arguments": {"<name>": "<value>"}}}',
                server=server,
            )

    def arguments(self, sql: str) -> dict[str, Any]:
        return {**self.extra, self.argument: sql}

    @classmethod
    def arguments_from_command_line(cls, args: list[str]) -> dict[str, Any]:
        """Tool arguments that the server's own command line already says (none by default)."""
        return {}

    def prepare(self, sql: str) -> tuple[str, str | None]:
        """The text to send, or an error explaining why this server cannot take the statement."""
        return clean_for_single_call(sql), None

    def interpret(self, outcome: ToolOutcome) -> tuple[bool, str | None]:
        raise NotImplementedError

    def rows(self, outcome: ToolOutcome) -> list[tuple[Any, ...]]:
        raise NotImplementedError


class MysqlMcpServerAdapter(SqlToolAdapter):
    """PyPI ``mysql-mcp-server`` (command ``mysql_mcp_server``), tool ``execute_sql {query}``."""

    kind = "mysql-mcp-server"
    tool = "execute_sql"
    argument = "query"
    _ERROR_PREFIXES = ("Error executing query:", "Error calling tool", "Only single statements are supported")
    _NO_ROWS = ("Query executed successfully.",)

    def prepare(self, sql: str) -> tuple[str, str | None]:
        text = clean_for_single_call(sql)
        if semicolon_inside(text):
            return text, (
                "the statement contains ';' (inside a string or identifier) and mysql-mcp-server refuses "
                "any ';' but a trailing one"
            )
        return text, None

    def interpret(self, outcome: ToolOutcome) -> tuple[bool, str | None]:
        if outcome.protocol_error:
            return False, outcome.protocol_error
        text = outcome.text.strip()
        for prefix in self._ERROR_PREFIXES:
            if text.startswith(prefix):
                detail = text[len(prefix) :].strip() if prefix.endswith(":") else text
                return False, detail or text
        if outcome.is_error:
            return False, text or "the server reported an error"
        return True, None

    def rows(self, outcome: ToolOutcome) -> list[tuple[Any, ...]]:
        """Rows of its CSV-ish text: a header line then one line per row, values unquoted.

        Lossy by nature: NULL and '' look the same and a value containing ',' or a newline cannot be
        told apart, which is why only small metadata queries use this.
        """
        text = outcome.text.strip("\n")
        if not text or any(text.startswith(p) for p in self._NO_ROWS):
            return []
        lines = text.split("\n")
        width = len(lines[0].split(","))
        return [tuple(line.split(",", width - 1)) for line in lines[1:]]


class AwsLabsMysqlAdapter(SqlToolAdapter):
    """awslabs' MySQL MCP server, tool ``run_query {sql}`` (read-only unless ``--allow_write_query``)."""

    kind = "awslabs.mysql-mcp-server"
    tool = "run_query"
    argument = "sql"
    # newer releases wrap rows: "Everything between <DATA_x> and </DATA_x> is ...\n<DATA_x>\n[...]\n</DATA_x>"
    _BOUNDARY = re.compile(r"<(DATA_[0-9a-fA-F]+)>\r?\n(.*?)\r?\n</\1>", re.DOTALL)

    #: ``--connection_method`` takes the enum's name, the tool its value
    _METHODS = {
        "RDS_API": "rdsapi",
        "MYSQL_WIRE_PROTOCOL": "mysqlwire",
        "MYSQL_WIRE_IAM_PROTOCOL": "mysqlwire_iam",
    }

    @classmethod
    def arguments_from_command_line(cls, args: list[str]) -> dict[str, Any]:
        """Since 1.1 ``run_query`` requires connection_method, cluster_identifier, db_endpoint and database:
        the key of the connection the server opened at start from its own flags, so they are read from
        those flags (``--db_cluster_arn``'s last part is the cluster identifier)."""
        flags: dict[str, str] = {}
        for i, arg in enumerate(args):
            name, eq, value = arg.partition("=")
            if not name.startswith("--"):
                continue
            if not eq:
                value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else ""
            flags[name[2:]] = value
        out: dict[str, Any] = {}
        if flags.get("connection_method"):
            method = flags["connection_method"]
            out["connection_method"] = cls._METHODS.get(method.upper(), method)
        if "connection_method" in out:
            out["cluster_identifier"] = flags.get("db_cluster_arn", "").split(":")[-1]
            out["db_endpoint"] = flags.get("db_endpoint", "")
        if flags.get("database"):
            out["database"] = flags["database"]
        # what connect_to_database needs beyond those
        if flags.get("region"):
            out["region"] = flags["region"]
        if flags.get("port", "").isdigit():
            out["port"] = int(flags["port"])
        if flags.get("db_type"):
            out["database_type"] = flags["db_type"]
        elif flags.get("db_cluster_arn"):
            out["database_type"] = "aurora-mysql"
        return out

    def connect_arguments(self, tool: Any) -> tuple[dict[str, Any], list[str]]:
        """Arguments for ``connect_to_database`` and the required ones still missing."""
        schema = getattr(tool, "input_schema", None) or {}
        props = set(schema.get("properties") or {})
        args = {k: v for k, v in self.known.items() if k in props}
        return args, sorted(set(schema.get("required") or []) - set(args))

    def _payload(self, outcome: ToolOutcome) -> Any:
        structured = outcome.structured
        if isinstance(structured, dict) and "result" in structured:
            return structured["result"]
        if structured is not None and not isinstance(structured, dict):
            return structured
        m = self._BOUNDARY.search(outcome.text)
        if m:
            with contextlib.suppress(ValueError):
                return json.loads(m.group(2))
        with contextlib.suppress(ValueError):
            return json.loads(outcome.text)
        items: list[Any] = []
        for t in outcome.texts:
            try:
                items.append(json.loads(t))
            except ValueError:
                return outcome.text
        return items

    def _error_of(self, payload: Any) -> str | None:
        if isinstance(payload, dict) and "error" in payload:
            return str(payload.get("message") or payload["error"])
        if isinstance(payload, list) and payload and isinstance(payload[0], dict) and "error" in payload[0]:
            return str(payload[0]["error"])
        return None

    def interpret(self, outcome: ToolOutcome) -> tuple[bool, str | None]:
        error = outcome.protocol_error
        if error is None:
            error = self._error_of(self._payload(outcome))
        if error is None and outcome.is_error:
            error = outcome.text or "the server reported an error"
        if error is None:
            return True, None
        details = [line for line in outcome.logs if line and line not in error]
        if details:
            error = f"{error}: {'; '.join(details)}"
        if any(marker in error.lower() for marker in READONLY_MARKERS):
            raise McpReadOnlyError(
                f"MCP server '{self.server}' refused a write: {error}",
                hint=AWSLABS_WRITE_HINT.replace("<name>", self.server),
                server=self.server,
            )
        return False, error

    def rows(self, outcome: ToolOutcome) -> list[tuple[Any, ...]]:
        payload = self._payload(outcome)
        if not isinstance(payload, list):
            return []
        out: list[tuple[Any, ...]] = []
        for row in payload:
            if isinstance(row, dict):
                out.append(tuple(row.values()))
            elif isinstance(row, list | tuple):
                out.append(tuple(row))
        return out


ADAPTERS: tuple[type[SqlToolAdapter], ...] = (MysqlMcpServerAdapter, AwsLabsMysqlAdapter)


def pick_adapter(
    server: str,
    tools: list[Any],
    extra_arguments: Mapping[str, Any] | None = None,
    server_args: list[str] | None = None,
) -> SqlToolAdapter:
    """The adapter for the first known SQL tool the server offers, else McpError listing its tools."""
    by_name = {t.name: t for t in tools}
    for cls in ADAPTERS:
        tool = by_name.get(cls.tool)
        if tool is None:
            continue
        props = (getattr(tool, "input_schema", None) or {}).get("properties") or {}
        if cls.argument in props:
            return cls(server, tool, extra_arguments, server_args)
    found = ", ".join(sorted(by_name)) or "none"
    raise McpFatalError(
        f"MCP server '{server}' offers no SQL tool dynamigrate can use (tools found: {found})",
        hint="supported: execute_sql {query} (PyPI mysql-mcp-server) and run_query {sql} "
        "(awslabs.mysql-mcp-server); configure one of them, or use --via direct",
        server=server,
    )


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
