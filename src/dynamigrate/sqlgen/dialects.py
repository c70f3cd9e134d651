"""SQL dialects of the source database: MySQL 8.0 (the default) and MariaDB 10.11.

The two servers agree on almost everything the generated views use. :class:`MySQL8Dialect` holds the
common rendering; :class:`MariaDBDialect` overrides only what differs, each quirk with a link to the
server documentation. Every method returns SQL text built from already-quoted parts: identifiers go
through :meth:`Dialect.quote`, text through :meth:`Dialect.literal`.
"""

from __future__ import annotations

from dynamigrate.errors import SqlGenError
from dynamigrate.source.schema import dialect_from_version as dialect_from_version  # re-exported

DIALECT_NAMES = ("mysql", "mariadb")


def quote_ident(identifier: str) -> str:
    """A quoted MySQL/MariaDB identifier (the package's one quoting function; both servers agree).

    Backticks inside are doubled; an empty name or one holding NUL cannot be an identifier.
    https://dev.mysql.com/doc/refman/8.0/en/identifiers.html
    """
    if "\x00" in identifier or not identifier:
        raise SqlGenError(f"invalid SQL identifier {identifier!r}", hint="rename the table/column/attribute")
    return "`" + identifier.replace("`", "``") + "`"


class MySQL8Dialect:
    """MySQL 8.0.14 or later (the generated SQL needs outer references in derived tables, 8.0.14+)."""

    name = "mysql"
    #: sqlglot has one reader for both servers; the constructs we emit parse with it.
    sqlglot_read = "mysql"
    description = "MySQL 8.0 (8.0.14 or later)"

    # -- quoting -------------------------------------------------------------------------------------

    quote = staticmethod(quote_ident)

    @staticmethod
    def literal(value: str) -> str:
        """A string literal that means the same whatever the session's sql_mode.

        Quotes are doubled (valid in every mode). A backslash means different things with and without
        NO_BACKSLASH_ESCAPES, so text containing one (or control characters) is written as a hex
        string converted to utf8mb4, which no mode reinterprets.
        https://dev.mysql.com/doc/refman/8.0/en/string-literals.html
        """
        if "\\" in value or any(ord(ch) < 32 for ch in value):
            return f"CAST(X'{value.encode('utf-8').hex().upper()}' AS CHAR CHARACTER SET utf8mb4)"
        return "'" + value.replace("'", "''") + "'"

    # -- values in the wire format -------------------------------------------------------------------

    @staticmethod
    def to_text(sql: str, width: int | None = None) -> str:
        """Text in utf8mb4: exact decimals, dates as the server prints them, integers as digits.

        One character set (and so one default collation) for every text column of a view also keeps
        UNION ALL of several entities free of 'Illegal mix of collations'. ``width`` declares the
        text's length: MariaDB declares a DOUBLE's text 22 characters long but prints up to 24
        (``-0.000009999999747378752``), and UNION ALL cuts the value to the declared length.
        https://dev.mysql.com/doc/refman/8.0/en/cast-functions.html#function_cast
        """
        if width is not None:
            return f"CAST({sql} AS CHAR({width}) CHARACTER SET utf8mb4)"
        return f"CAST({sql} AS CHAR CHARACTER SET utf8mb4)"

    @staticmethod
    def json_document(sql: str) -> str:
        """Text holding JSON, as a JSON value (so that JSON_OBJECT nests it instead of quoting it).

        https://dev.mysql.com/doc/refman/8.0/en/json-creation-functions.html
        """
        return f"CAST({sql} AS JSON)"

    @classmethod
    def base64(cls, sql: str) -> str:
        """Bytes as one line of base64 text (TO_BASE64 breaks lines every 76 characters)."""
        return f"REPLACE(TO_BASE64({sql}), {cls.literal(chr(10))}, '')"

    @staticmethod
    def json_text(sql: str) -> str:
        """A JSON value as text (the wire format of M/L and of S from a json-construction)."""
        return sql

    # -- related collections -------------------------------------------------------------------------

    def json_array_subquery(
        self, element: str, from_sql: str, where_sql: str, order_sql: str | None, limit: int | None
    ) -> str:
        """A correlated scalar subquery returning a JSON array of ``element`` (``[]`` for no rows).

        MySQL's JSON_ARRAYAGG takes neither ORDER BY nor LIMIT
        (https://dev.mysql.com/doc/refman/8.0/en/aggregate-functions.html#function_json-arrayagg), so an
        ordered or limited array aggregates a derived table that is ordered and limited first. That
        derived table references the outer row, which MySQL allows from 8.0.14
        (https://dev.mysql.com/doc/refman/8.0/en/derived-tables.html, "outer references"). MySQL does
        not promise to aggregate in the derived table's order; it does so in practice (unproven here,
        see docs/views.md).
        """
        if order_sql is None and limit is None:
            return (
                f"(SELECT COALESCE(JSON_ARRAYAGG({element}), JSON_ARRAY()) FROM {from_sql} WHERE {where_sql})"
            )
        tail = ""
        if order_sql is not None:
            tail += f" ORDER BY {order_sql}"
        if limit is not None:
            tail += f" LIMIT {int(limit)}"
        inner = f"SELECT {element} AS `_dm_elem` FROM {from_sql} WHERE {where_sql}{tail}"
        return (
            "(SELECT COALESCE(JSON_ARRAYAGG(`_dm_arr`.`_dm_elem`), JSON_ARRAY())"
            f" FROM ({inner}) AS `_dm_arr`)"
        )


class MariaDBDialect(MySQL8Dialect):
    """MariaDB 10.5 or later (tested on 10.11)."""

    name = "mariadb"
    description = "MariaDB 10.5+ (tested on 10.11)"

    @staticmethod
    def json_document(sql: str) -> str:
        """MariaDB has no JSON type and no ``CAST(... AS JSON)``: JSON is LONGTEXT. JSON_EXTRACT(x, '$')
        returns the document flagged as JSON, so JSON_OBJECT/JSON_ARRAYAGG nest it instead of quoting it.
        https://mariadb.com/kb/en/json-data-type/ , https://mariadb.com/kb/en/json_extract/
        """
        return f"JSON_EXTRACT({sql}, '$')"

    def json_array_subquery(
        self, element: str, from_sql: str, where_sql: str, order_sql: str | None, limit: int | None
    ) -> str:
        """MariaDB 10.5+ accepts ORDER BY and LIMIT inside JSON_ARRAYAGG
        (https://mariadb.com/kb/en/json_arrayagg/), and it does not accept a derived table that refers
        to the outer row inside a correlated subquery ("Unknown column ... in 'where clause'"), so the
        MySQL shape cannot be used here.
        """
        tail = ""
        if order_sql is not None:
            tail += f" ORDER BY {order_sql}"
        if limit is not None:
            tail += f" LIMIT {int(limit)}"
        return f"(SELECT COALESCE(JSON_ARRAYAGG({element}{tail}), JSON_ARRAY()) FROM {from_sql} WHERE {where_sql})"


Dialect = MySQL8Dialect


def get_dialect(name: str | MySQL8Dialect | None) -> MySQL8Dialect:
    """``mysql`` (default) or ``mariadb``; an instance is returned as is."""
    if isinstance(name, MySQL8Dialect):
        return name
    key = (name or "mysql").strip().lower()
    if key in ("mysql", "mysql8", "mysql8.0"):
        return MySQL8Dialect()
    if key == "mariadb":
        return MariaDBDialect()
    raise SqlGenError(f"unknown SQL dialect '{name}'", hint="use 'mysql' (MySQL 8.0) or 'mariadb'")
