"""One verdict on a contract, shared by ``contract check``, ``views generate``, ``preflight``,
``migrate`` and ``validate``.

Before, ``contract check`` ran the semantic checks but not the SQL-safety checks of the generator, and
the other commands ran the generator but not the semantic checks: ``contract check`` said OK to
``; DROP TABLE`` fragments that ``views generate`` refused, and ``views generate`` wrote views for a
key attribute of type M. Every command now asks :func:`check_contract_fully`, which runs

1. the semantic validation and the readings that are not certain
   (:func:`dynamigrate.contract.validate.check_contract`; ``accept`` turns accepted codes such as
   C301 into warnings),
2. the live-schema lint when a schema is known (:func:`dynamigrate.contract.lint.lint_contract`),
3. the generator itself, per table free of errors so far: every refusal of a fragment (statement
   separators, comments, functions such as ``SLEEP``/``load_file``, ``@@`` variables, subqueries into
   other databases, ambiguous columns) becomes a problem at its JSON path,

so every command reaches the same verdict, and exits 2 (bad input) on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dynamigrate.contract.model import Contract
from dynamigrate.contract.problems import Problem, ProblemList
from dynamigrate.errors import ContractError, DynamigrateError

log = logging.getLogger(__name__)

#: code of the problems found by generating the views (docs/contract-checks.md)
GENERATION_CODE = "C900"


def _generation_problems(
    contract: Contract, tables: list[Any], dialect: str, schema: Any, accept: tuple[str, ...]
) -> ProblemList:
    from dynamigrate.sqlgen import generate_views

    problems = ProblemList()
    for table in tables:
        try:
            # check=False: the fragments are refused while generating; the shape check of the whole
            # statement (a guard against generator bugs, run by views generate/apply) tokenizes the
            # statement again, which costs seconds on a table of thousands of attributes
            generate_views(contract, [table.name], dialect, schema, check=False, accept=accept)
        except ContractError as exc:
            if exc.problems:
                problems.extend(
                    p if isinstance(p, Problem) else _problem(table, str(p)) for p in exc.problems
                )
            else:
                problems.append(_from_error(table, exc))
        except DynamigrateError as exc:
            problems.append(_from_error(table, exc))
    return problems


def _problem(table: Any, message: str) -> Problem:
    return Problem(table.path, message, None, "error", GENERATION_CODE)


def _from_error(table: Any, exc: DynamigrateError) -> Problem:
    path = str(exc.where.get("path") or table.path)
    return Problem(path, exc.message, exc.hint, "error", GENERATION_CODE)


def check_contract_fully(
    contract: Contract,
    schema: Any = None,
    dialect: str = "mysql",
    tables: Iterable[str] | None = None,
    accept: Iterable[str] = (),
) -> ProblemList:
    """Every problem of ``contract`` (errors and warnings), each with its JSON path: semantics,
    readings that are not certain, the live-schema lint (with ``schema``) and what the view generator
    refuses. Errors whose code is in ``accept`` (ACCEPTABLE codes only) become warnings. With
    ``tables`` (DynamoDB table names; an unknown one is a ContractError), only the problems of those
    tables and of the contract as a whole count: a broken table does not block the others."""
    from dynamigrate.contract.readings import split_accepted
    from dynamigrate.contract.validate import check_contract

    accept = tuple(accept)
    if tables:
        tables = [t.name for t in contract.select(list(tables))]
    kept, accepted = split_accepted(list(check_contract(contract, schema)), accept)
    problems = ProblemList(kept)
    for p in accepted:
        problems.warning(p.path, f"accepted knowingly (--accept {p.code}): {p.message}", p.fix, code=p.code)
    wanted = set(tables) if tables else None
    clean = [
        t
        for t in contract.tables
        if (wanted is None or t.name in wanted)
        and not any(
            p.path == t.path or p.path.startswith((t.path + ".", t.path + "[")) for p in problems.errors
        )
    ]
    problems.extend(_generation_problems(contract, clean, dialect, schema, accept))
    if wanted is None:
        return problems
    return ProblemList(p for p in problems if _table_of(contract, p.path) in wanted | {None})


def _table_of(contract: Contract, path: str) -> str | None:
    """The table a problem path points into (``tables[i]...``, or ``[i]...`` without the wrapper)."""
    m = re.match(r"^(?:\$\.?)?(?:tables)?\[(\d+)\]", path)
    if not m:
        return None
    i = int(m.group(1))
    return contract.tables[i].name if i < len(contract.tables) else None


def require_valid(
    contract: Contract,
    schema: Any = None,
    dialect: str = "mysql",
    tables: Iterable[str] | None = None,
    accept: Iterable[str] = (),
) -> ProblemList:
    """Raise :class:`ContractError` (exit 2) listing every error of :func:`check_contract_fully`;
    returns the problems (warnings only) otherwise."""
    problems = check_contract_fully(contract, schema, dialect, tables, accept)
    problems.raise_if_errors(f"contract {contract.source or ''} is invalid".replace("  ", " "))
    return problems


def live_schema(cfg: Any) -> Any:
    """The configured database's schema (SchemaInfo), or None when MySQL cannot be reached now: the
    command then fails where it needs the connection, with its own message, and the contract is
    checked without the lint (logged)."""
    from dynamigrate.errors import SourceError
    from dynamigrate.source.connect import connect
    from dynamigrate.source.introspect import introspect

    if not cfg.mysql.database:
        return None
    try:
        conn = connect(cfg.mysql)
    except SourceError as exc:
        log.warning("contract not linted against the live schema: %s", exc.message)
        return None
    try:
        return introspect(conn, cfg.mysql.database)
    finally:
        conn.close()


def load_valid_contract(
    path: str | Path,
    schema: Any = None,
    dialect: str | None = None,
    tables: Iterable[str] | None = None,
    *,
    cfg: Any = None,
    accept: Iterable[str] = (),
) -> Contract:
    """:func:`~dynamigrate.contract.load.load_contract`, then :func:`require_valid`; with ``cfg`` (and
    no ``schema``), linted against the live schema of the configured database, as ``contract check
    --config`` does."""
    from dynamigrate.contract.load import load_contract

    contract = load_contract(path)
    if schema is None and cfg is not None:
        schema = live_schema(cfg)
    if dialect is None:
        dialect = (cfg.migration.dialect if cfg is not None else None) or (
            _dialect_of(schema) if schema is not None else "mysql"
        )
    require_valid(contract, schema, dialect, tables, accept)
    return contract


def _dialect_of(schema: Any) -> str:
    from dynamigrate.source.schema import dialect_from_version

    return dialect_from_version(schema.version) if schema.version else "mysql"
