"""The one reading `views generate` makes without a schema that is not certain: a self-reference read
with the primary key assumed to be ``id``. The views file records it as a comment
(``--   * Cats (tables[0]...join_condition): assumed primary key cats.id (no schema given)``);
``views apply``, which has a connection, checks it against the live schema before running anything:
a table whose primary key is not ``id`` would be joined in the wrong direction (``cats.cat_no =
cats.id`` read as "the row whose id is my cat_no" instead of "the row whose cat_no is my id"), and its
items would land with wrong values and no error. Pure logic; the queries are the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NOTE = re.compile(
    r"^--\s+\*\s+(?P<table>\S.*?) \((?P<path>[^()]*)\): assumed primary key (?P<source>.+)\.id "
    r"\(no schema given\)\s*$"
)

#: every primary-key column of the current database, in key order (no user input in the statement)
PRIMARY_KEYS_SQL = (
    "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION"
)
#: the base tables of the current database
TABLES_SQL = (
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    "AND TABLE_TYPE = 'BASE TABLE'"
)


@dataclass(frozen=True)
class AssumedKey:
    table: str  # the DynamoDB table of the contract
    path: str  # JSON path of the self-referencing condition
    source: str  # the source table whose primary key was assumed to be ``id``


def assumed_keys(text: str) -> list[AssumedKey]:
    """The assumed primary keys recorded in a views file (each once)."""
    out: list[AssumedKey] = []
    for line in text.splitlines():
        m = _NOTE.match(line.strip())
        if m:
            key = AssumedKey(m.group("table"), m.group("path"), m.group("source"))
            if key not in out:
                out.append(key)
    return out


def key_problems(
    assumed: Sequence[AssumedKey],
    primary_keys: Iterable[tuple[str, str]],
    tables: Iterable[str],
) -> list[str]:
    """What is wrong with the assumptions, given the live schema's primary-key columns (table, column
    in key order) and base tables; empty when every assumed table's primary key is exactly ``id``."""
    pks: dict[str, list[str]] = {}
    for table, column in primary_keys:
        pks.setdefault(str(table).lower(), []).append(str(column))
    known = {str(t).lower() for t in tables}
    problems: list[str] = []
    for a in assumed:
        pk = pks.get(a.source.lower())
        where = f"{a.table} ({a.path})"
        if pk is not None and [c.lower() for c in pk] == ["id"]:
            continue
        if pk is not None:
            problems.append(
                f"{where}: the self-reference was read with {a.source}.id as the primary key, but the "
                f"primary key of {a.source} is ({', '.join(pk)}): the view would join the wrong rows"
            )
        elif a.source.lower() in known:
            problems.append(
                f"{where}: the self-reference was read with {a.source}.id as the primary key, but "
                f"{a.source} has no primary key: no reading of it is certain"
            )
        # a table that does not exist: the CREATE VIEW itself fails and says so
    return problems
