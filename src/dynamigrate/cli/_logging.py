"""Logging handlers live here, in the CLI only; library code uses ``logging.getLogger(__name__)``."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from dynamigrate.redact import RedactingFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (tests swap it; a handler bound to
    an old, closed stream would fail with 'I/O operation on closed file')."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def level_for(verbosity: int = 0, quiet: bool = False) -> int:
    """-q: errors only; default: warnings (and what the commands print themselves); -v: also the
    information lines (interpretations of the contract, statements applied, tables created); -vv:
    debug."""
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def setup_logging(verbosity: int = 0, quiet: bool = False, fmt: str = "text", stream: Any = None) -> None:
    """Log records of ``dynamigrate.*`` go to stderr: as JSON objects (``fmt="json"``), through the
    shared rich console on a terminal (so they print above a live progress display, wrapped to the
    terminal's width), as plain lines otherwise (pipes, CI)."""
    level = level_for(verbosity, quiet)
    handler: logging.Handler
    if fmt == "json":
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
    elif _is_terminal(stream or sys.stderr):
        from rich.logging import RichHandler

        from dynamigrate.etl.progress import stderr_console

        handler = RichHandler(
            console=stderr_console(),
            show_path=False,
            markup=False,
            rich_tracebacks=False,
            log_time_format="%H:%M:%S",
            omit_repeated_times=False,
        )
    else:
        handler = StderrHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter())  # secrets masked by value (dynamigrate.redact)
    root = logging.getLogger("dynamigrate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # boto and friends are chatty at INFO
    for noisy in ("botocore", "boto3", "urllib3", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
