"""Adapters between dynamigrate's statements and a MySQL MCP server's SQL tool: ``execute_sql`` of PyPI's
``mysql-mcp-server``, ``run_query`` of AWS Labs' MySQL MCP server; picked from the server's tool list.
Each turns a tool's text answer into a :class:`~dynamigrate.source.executor.StatementResult` with the
MySQL error number guessed from the message."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from dynamigrate.source.mcp_session import (
    AWSLABS_WRITE_HINT,
    READONLY_MARKERS,
    McpFatalError,
    McpReadOnlyError,
    ToolOutcome,
)
from dynamigrate.source.sqlsplit import clean_for_single_call, semicolon_inside

log = logging.getLogger(__name__)

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
