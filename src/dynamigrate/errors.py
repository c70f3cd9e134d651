"""One exception root for everything a user can hit.

Every error says what happened, where (table, attribute, JSON path, row key) and what to do (``hint``).
``transient`` decides whether a retry may help. Driver errors are translated once, at the I/O boundary.
"""

from __future__ import annotations

from typing import Any


class DynamigrateError(Exception):
    """Root of all dynamigrate errors.

    ``where`` is a small mapping of context (table, attribute, path, key...) rendered in the message;
    ``hint`` tells the user what to do; ``code`` is a stable identifier used by the troubleshooting
    catalogue and in reports.
    """

    transient = False
    code = "DM000"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None, **where: Any):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code:
            self.code = code
        self.where = {k: v for k, v in where.items() if v is not None}

    def __str__(self) -> str:
        text = self.message
        if self.where:
            text += " [" + ", ".join(f"{k}={v}" for k, v in self.where.items()) + "]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "code": self.code,
            "message": self.message,
            "where": {k: str(v) for k, v in self.where.items()},
            "hint": self.hint,
        }


class TransientError(DynamigrateError):
    """Mixin-like base: retrying may succeed (throttling, 5xx, dropped connection)."""

    transient = True


class ConfigError(DynamigrateError):
    code = "DM100"


class ContractError(DynamigrateError):
    """The contract cannot be interpreted. ``problems`` holds every problem found, each with a JSON path."""

    code = "DM200"

    def __init__(self, message: str, problems: list[Any] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        lines = [f"{self.message} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class SqlGenError(DynamigrateError):
    code = "DM300"


class UnsafeSqlError(SqlGenError):
    code = "DM301"


class SourceError(DynamigrateError):
    """MySQL side: connection, statement, view, MCP server."""

    code = "DM400"

    @property
    def mysql_errno(self) -> int | None:
        """The MySQL error number (``where["mysql_errno"]``), when the server gave one."""
        errno = self.where.get("mysql_errno")
        return errno if isinstance(errno, int) else None


class TransientSourceError(SourceError, TransientError):
    pass


class McpError(SourceError):
    code = "DM450"


class TargetError(DynamigrateError):
    """DynamoDB side."""

    code = "DM500"


class TransientTargetError(TargetError, TransientError):
    pass


class TableMismatchError(TargetError):
    code = "DM510"


class EngineError(DynamigrateError):
    code = "DM600"


class RegionMismatchError(DynamigrateError):
    code = "DM700"


class ValidationFailed(DynamigrateError):
    code = "DM800"


class PreflightFailed(DynamigrateError):
    code = "DM850"

    def __init__(self, message: str, *, checks: tuple[str, ...] = (), hint: str | None = None, **where: Any):
        super().__init__(message, hint=hint, **where)
        self.checks = checks  # the preflight checks that failed and were not accepted


class MissingExtraError(DynamigrateError):
    """An optional dependency is not installed; the hint carries the exact pip command."""

    code = "DM900"

    def __init__(self, module: str, extra: str):
        super().__init__(
            f"optional dependency '{module}' is not installed",
            hint=f"pip install 'dynamigrate[{extra}]'",
        )


def require(module: str, extra: str) -> Any:
    """Import an optional heavy dependency lazily, with an install hint when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra) from exc
