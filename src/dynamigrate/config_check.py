"""The structure of a config file, checked before anything uses it.

A config of ``{"mysql": "x"}`` used to end in a Python traceback, and a typo such as ``"databse"`` was
silently ignored (the run then said "no MySQL database configured", pointing nowhere near the typo).
:func:`check_config_structure` walks the file once and reports every problem by its config key:

* a section that is not an object (``mysql``, ``aws``, ``migration``, ``mcp``, ``mcpServers``, ...);
* a key of the wrong type or out of range (``mysql.port``, ``migration.engine``, ``aws.region`` ...);
* an unknown key that is close to a known one (``mysql.databse`` -> ``database``): an error naming
  both, because the setting it was meant to be is otherwise silently missing;
* an unknown key close to nothing: a warning (the workshop's config carries keys such as
  ``aws.vpc_id`` that dynamigrate has no use for).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

from dynamigrate.errors import ConfigError

log = logging.getLogger(__name__)

_STR = "a string"
_INT = "a whole number"
_NUM = "a number"
_LIST = "a list"
_OBJ = "an object"
_BOOL = "true or false"

#: section -> key -> expected kind, or a tuple of allowed values
SECTIONS: dict[str, dict[str, Any]] = {
    "mysql": {
        "host": _STR,
        "public_host": _STR,
        "private_host": _STR,
        "port": "port",
        "user": _STR,
        "password": "scalar",
        "database": _STR,
        "connect_timeout": _NUM,
    },
    "aws": {
        "region": _STR,
        "endpoint_url": _STR,
        "dynamodb_endpoint_url": _STR,
        "profile": _STR,
        "account_id": "scalar",
        "s3_bucket": _STR,
        "glue_role": _STR,
        "glue_connection": _STR,
        "glue_connection_name": _STR,
        "s3_script_prefix": _STR,
        "vpc_id": _STR,
        "subnet_ids": _LIST,
        "security_group_ids": _LIST,
        "glue_worker_type": _STR,
        "glue_workers": _INT,
        "glue_timeout_minutes": _INT,
        "glue_job_prefix": _STR,
        "glue_max_retries": _INT,
    },
    "migration": {
        "contract_file": _STR,
        "output_dir": _STR,
        "engine": ("local", "spark", "glue"),
        "write_mode": ("insert", "sync", "newer", "overwrite"),
        "version_attribute": _STR,
        "marker_attribute": _STR,
        "dialect": ("mysql", "mariadb"),
        "billing_mode": ("PAY_PER_REQUEST", "PROVISIONED"),
        "tables": "tables",
        "view_generator": _STR,
        "s3_script_prefix": _STR,
        "concurrency": _INT,
        "chunk_rows": _INT,
        "inflight_chunks": _INT,
        "workers": _INT,
        "strategy": ("auto", "put", "transact", "batch"),
    },
    "mcp": {"server": _STR, "config_file": _STR, "tool_arguments": _OBJ},
}
#: top-level keys whose content other modules check (or that carry no settings)
OTHER_TOP_LEVEL = ("mcpServers", "glue", "spark", "$schema", "description", "version", "comment", "_comment")
MCP_BLOCK = {
    "command": _STR,
    "args": "args",
    "env": "env",
    "cwd": _STR,
    "disabled": _BOOL,
    "type": _STR,
    "timeout": _NUM,
    "autoApprove": _LIST,
    "transportType": _STR,
}
#: how close an unknown key must be to a known one to be called a typo (difflib ratio)
TYPO_CUTOFF = 0.8


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bad_value(key: str, expected: Any, value: Any) -> str | None:
    """What is wrong with ``value`` for ``key`` (None when it is fine or null)."""
    if value is None:
        return None
    if isinstance(expected, tuple):
        if value in expected:
            return None
        return f"{key} must be one of {', '.join(expected)}, not {value!r}"
    if expected == _STR and not isinstance(value, str):
        return f"{key} must be {_STR}, not {_kind(value)}"
    if expected == "scalar" and (isinstance(value, bool) or not isinstance(value, str | int)):
        return f"{key} must be {_STR}, not {_kind(value)}"
    if expected in (_INT, "port"):
        number: int | None
        try:
            number = int(value) if not isinstance(value, bool | float | list | dict) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            return f"{key} must be {_INT}, not {value!r}"
        if expected == "port" and not 0 < number < 65536:
            return f"{key} must be a TCP port (1-65535), not {number}"
        if expected == _INT and number < 0:
            return f"{key} must not be negative, not {number}"
    if expected == _NUM and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"{key} must be {_NUM}, not {_kind(value)}"
    if expected == _LIST and not isinstance(value, list):
        return f"{key} must be {_LIST}, not {_kind(value)}"
    if expected == _OBJ and not isinstance(value, dict):
        return f"{key} must be {_OBJ}, not {_kind(value)}"
    if expected == _BOOL and not isinstance(value, bool):
        return f"{key} must be {_BOOL}, not {_kind(value)}"
    if expected == "tables" and not (
        isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    ):
        return f'{key} must be a list of table names (or "A,B"), not {_kind(value)}'
    if expected == "args" and not (
        isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
    ):
        return f'{key} must be a list of strings (e.g. ["--port", "3306"]), not {_kind(value)}'
    if expected == "env" and not (
        isinstance(value, dict)
        and all(v is None or isinstance(v, str | int | float | bool) for v in value.values())
    ):
        return f'{key} must be an object of strings (e.g. {{"MYSQL_HOST": "127.0.0.1"}}), not {_kind(value)}'
    return None


def _unknown(key: str, known: list[str], where: str, errors: list[str], warnings: list[str]) -> None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=TYPO_CUTOFF)
    name = f"{where}.{key}" if where else key
    if close:
        right = f"{where}.{close[0]}" if where else close[0]
        errors.append(f"unknown key '{name}': did you mean '{right}'?")
    else:
        warnings.append(f"unknown key '{name}' is ignored")


def check_config_structure(raw: Mapping[str, Any], file: str | None = None) -> list[str]:
    """Raise :class:`ConfigError` naming every bad key of ``raw``; returns the warnings."""
    errors: list[str] = []
    warnings: list[str] = []
    top_known = [*SECTIONS, *OTHER_TOP_LEVEL]
    for top, value in raw.items():
        if top in SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                errors.append(
                    f'{top} must be an object of settings, not {_kind(value)} (e.g. "{top}": {{...}})'
                )
                continue
            spec = SECTIONS[top]
            for key, item in value.items():
                if key not in spec:
                    _unknown(str(key), list(spec), top, errors, warnings)
                    continue
                problem = _bad_value(f"{top}.{key}", spec[key], item)
                if problem:
                    errors.append(problem)
        elif top == "mcpServers":
            _check_mcp_servers(value, errors, warnings)
        elif top in ("glue", "spark"):
            if value is not None and not isinstance(value, dict):
                errors.append(f"{top} must be an object of settings, not {_kind(value)}")
        elif top not in OTHER_TOP_LEVEL:
            _unknown(str(top), top_known, "", errors, warnings)
    for text in warnings:
        log.warning("config%s: %s", f" {file}" if file else "", text)
    if errors:
        shown = errors[0] if len(errors) == 1 else f"{len(errors)} problems: " + "; ".join(errors)
        raise ConfigError(
            f"invalid config file: {shown}",
            file=file,
            hint="fix the keys named (docs/configuration.md lists every key; examples/demo-config.json is a complete file)",
        )
    return warnings


def _check_mcp_servers(value: Any, errors: list[str], warnings: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors.append(
            f'mcpServers must be an object of servers (e.g. {{"mysql": {{"command": ...}}}}), not {_kind(value)}'
        )
        return
    for name, block in value.items():
        where = f"mcpServers.{name}"
        if not isinstance(block, dict):
            errors.append(f"{where} must be an object (command, args, env), not {_kind(block)}")
            continue
        for key, item in block.items():
            if key not in MCP_BLOCK:
                continue  # clients add their own keys (alwaysAllow, url...): not ours to judge
            problem = _bad_value(f"{where}.{key}", MCP_BLOCK[key], item)
            if problem:
                errors.append(problem)
