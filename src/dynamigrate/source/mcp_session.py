"""The MCP session: a MySQL MCP server launched over stdio with the official ``mcp`` SDK, its async
session kept in a background event loop (an anyio blocking portal) so callers stay synchronous; the
server's environment built from its ``mcpServers`` block, secrets scrubbed from what is logged.
Used by :mod:`dynamigrate.source.mcp_client` (and the Glue data-processing server's caller)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import is_secret_name, masked_args
from dynamigrate.errors import McpError

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
