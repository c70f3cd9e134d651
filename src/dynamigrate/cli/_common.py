"""Argument blocks and small helpers shared by the CLI commands.

Underscore-prefixed so that the CLI's auto-discovery does not take it for a command module.

* :func:`add_mysql_arguments` / :func:`mysql_overrides`: the MySQL connection flags and the
  ``load_config`` overrides they become (flag > environment > config file);
* :func:`contract_path`, :func:`require_database`: the two checks every command that reads a contract
  or connects to MySQL starts with, with the same message and hint everywhere;
* :func:`split_names`: comma-separated (and/or repeated) names;
* :func:`add_tables_argument`: ``--tables``, the same in every command (comma- and/or space-separated);
* :func:`add_run_argument`: ``--run RUN`` (a run id or a run directory), the same in every command;
* :func:`plain_help`: help text without reStructuredText markup;
* :func:`print_help_handler`: the handler of a command group called without its action.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.errors import ConfigError

DATABASE_HELP = "MySQL database (overrides mysql.database)"
PASSWORD_HELP = "MySQL password (prefer the config file or MYSQL_PASSWORD: flags show in `ps`)"


def add_mysql_arguments(
    parser: argparse.ArgumentParser,
    *,
    connection: bool = True,
    password: bool = False,
    database: str | None = DATABASE_HELP,
) -> None:
    """Add ``--host/--port/--user`` (``connection``), ``--password`` and ``--database`` (its help text;
    ``None`` leaves it out, for commands whose ``--database`` means something else)."""
    if connection:
        parser.add_argument("--host", help="MySQL host (overrides config and MYSQL_HOST)")
        parser.add_argument("--port", type=int, help="MySQL port")
        parser.add_argument("--user", help="MySQL user")
    if password:
        parser.add_argument("--password", help=PASSWORD_HELP)
    if database is not None:
        parser.add_argument("--database", help=database)


def mysql_overrides(args: argparse.Namespace, *, database: bool = True) -> dict[str, Any]:
    """``load_config`` overrides from the flags :func:`add_mysql_arguments` added (absent flags and
    unset ones are ``None``, which ``load_config`` ignores)."""
    keys = ("host", "port", "user", "password") + (("database",) if database else ())
    return {f"mysql.{key}": getattr(args, key, None) for key in keys}


def contract_path(cfg: Config, given: str | None) -> Path:
    """``--contract`` if given, else ``migration.contract_file`` (relative to the config file)."""
    path = Path(given) if given else cfg.resolve_path(cfg.migration.contract_file)
    if path is None:
        raise ConfigError("no contract given", hint="pass --contract FILE or set migration.contract_file")
    return path


def settings_for_run(cfg: Config, run: Any, *, mysql: bool = False) -> Config:
    """``cfg`` completed by the settings ``run`` saved (endpoint, region, database...: a flag, the
    environment or the config file still win), then the region sources checked for agreement. With
    ``mysql``, a MySQL password the run used but that is not given now is an error saying where to
    give it (secrets are never saved with a run)."""
    from dynamigrate.regions import check_region_sources
    from dynamigrate.run_settings import missing_secret_hint, with_run_settings

    cfg = with_run_settings(cfg, run.meta, run.run_id)
    if mysql:
        hint = missing_secret_hint(cfg, run.meta)
        if hint:
            raise ConfigError(f"no MySQL password given for run {run.run_id}", hint=hint, run=run.run_id)
    check_region_sources(cfg)
    return cfg


def require_database(cfg: Config) -> str:
    """The configured MySQL database, or a ConfigError saying how to set it."""
    if not cfg.mysql.database:
        raise ConfigError(
            "no MySQL database configured",
            hint="set mysql.database in the config file, MYSQL_DATABASE, or pass --database",
        )
    return cfg.mysql.database


def split_names(values: str | Iterable[str] | None) -> list[str]:
    """Names from ``"a,b"`` or ``["a", "b,c"]`` (repeated and/or comma-separated flags), blanks dropped."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


TABLES_METAVAR = "TABLE"


def add_tables_argument(
    parser: argparse.ArgumentParser, help: str = "only these DynamoDB tables of the contract (default: all)"
) -> None:
    """``--tables A B`` or ``--tables A,B`` (or repeated): the same in every command; read the value
    with :func:`split_names`."""
    parser.add_argument(
        "--tables",
        nargs="+",
        action="extend",
        metavar=TABLES_METAVAR,
        help=f"{help}; comma- or space-separated",
    )


RUN_HELP = "a run id (in the output directory) or a run directory"


def add_run_argument(
    parser: argparse.ArgumentParser, help: str, *, positional: bool = False, dest: str = "run"
) -> None:
    """``--run RUN`` (a run id or a run directory), the same in every command; ``positional`` also
    accepts it as the first argument (``status RUN``, ``rollback RUN``)."""
    if positional:
        parser.add_argument(
            "run_positional", nargs="?", metavar="RUN", help=f"{help} ({RUN_HELP}; same as --run)"
        )
    parser.add_argument("--run", dest=dest, metavar="RUN", help=f"{help} ({RUN_HELP})")


def run_value(args: argparse.Namespace, dest: str = "run") -> str | None:
    """The run named by ``--run`` or the positional RUN (they must agree when both are given)."""
    flag, pos = getattr(args, dest, None), getattr(args, "run_positional", None)
    if flag and pos and flag != pos:
        raise ConfigError(
            f"two different runs given: {pos} and --run {flag}", hint="name the run once, as RUN or --run RUN"
        )
    return flag or pos


_ROLE = re.compile(r":[a-z]+:`([^`]*)`")
_LITERAL = re.compile(r"``([^`]*)``")


def plain_help(text: str | None) -> str | None:
    """Help text without reStructuredText markup: ``literal`` and :role:`target` become plain words."""
    if not text:
        return text
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text))


def print_help_handler(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A handler that prints ``parser``'s help and exits 2 (a command group called without an action)."""

    def handler(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return handler
