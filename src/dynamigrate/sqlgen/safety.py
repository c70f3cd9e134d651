"""Guards that keep contract text from becoming anything but an expression inside one CREATE VIEW.

Two checks:

* :func:`parse_fragment` parses one contract fragment (a join condition, a select expression...) and
  refuses statement separators, comments, statements, subqueries, variables and a few functions that
  have no business in a view (SLEEP, LOAD_FILE...), naming the JSON path of the fragment.
* :func:`assert_single_create_view` checks, before anything runs, that a generated statement is exactly
  one ``CREATE [OR REPLACE] VIEW`` whose body is a SELECT (or a UNION of SELECTs).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from dynamigrate.errors import UnsafeSqlError

#: Functions refused in contract fragments: side effects, file access, time-based attacks, locks.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "SLEEP",
        "BENCHMARK",
        "LOAD_FILE",
        "GET_LOCK",
        "RELEASE_LOCK",
        "RELEASE_ALL_LOCKS",
        "IS_FREE_LOCK",
        "IS_USED_LOCK",
        "MASTER_POS_WAIT",
        "SOURCE_POS_WAIT",
        "WAIT_FOR_EXECUTED_GTID_SET",
        "SYS_EXEC",
        "SYS_EVAL",
        "LAST_INSERT_ID",
        "NAME_CONST",
    }
)

#: Node types a fragment may never contain (statements, subqueries, variables, placeholders).
_FORBIDDEN_NODES: tuple[type, ...] = (
    exp.Query,
    exp.Subquery,
    exp.Command,
    exp.DDL,
    exp.DML,
    exp.Drop,
    exp.Alter,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.PropertyEQ,
    exp.SessionParameter,
    exp.Parameter,
    exp.Placeholder,
    exp.Star,
    exp.Alias,
    exp.Into,
)


def _tokens(text: str, what: str, path: str | None, table: str | None) -> list[sqlglot.tokens.Token]:
    try:
        return list(sqlglot.Dialect.get_or_raise("mysql").tokenize(text))
    except (TokenError, ParseError, ValueError) as exc:
        raise UnsafeSqlError(
            f"cannot read the {what} {text!r}: {exc}",
            path=path,
            table=table,
            hint="write a single SQL expression, e.g. users.id = orders.user_id",
        ) from None


def _check_tokens(
    text: str, what: str, path: str | None, table: str | None, allow_final_semicolon: bool
) -> None:
    tokens = _tokens(text, what, path, table)
    for i, tok in enumerate(tokens):
        if tok.comments:
            raise UnsafeSqlError(
                f"the {what} contains an SQL comment: {text!r}",
                path=path,
                table=table,
                hint="remove the comment ('-- ', '#', '/* */'): a contract fragment is one expression",
            )
        if tok.token_type == TokenType.SEMICOLON and not (allow_final_semicolon and i == len(tokens) - 1):
            raise UnsafeSqlError(
                f"the {what} contains ';' (a statement separator): {text!r}",
                path=path,
                table=table,
                hint="a contract fragment is one SQL expression; remove ';' and anything after it",
            )
    # sqlglot drops a comment at the very end of the text into the last token; also refuse raw markers
    # outside string literals that the tokenizer may have swallowed.
    stripped = _strip_strings(text)
    if "--" in stripped or "#" in stripped or "/*" in stripped:
        raise UnsafeSqlError(
            f"the {what} contains an SQL comment: {text!r}",
            path=path,
            table=table,
            hint="remove the comment ('-- ', '#', '/* */'): a contract fragment is one expression",
        )


def _strip_strings(text: str) -> str:
    """``text`` with the contents of quoted strings/identifiers removed (for marker checks)."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 2
                    continue
                quote = None
                out.append(ch)
        elif ch in "'\"`":
            quote = ch
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Any:
    try:
        parsed = [e for e in sqlglot.parse(text, read="mysql") if e is not None]
    except (ParseError, TokenError) as exc:
        return f"error:{exc}"
    if len(parsed) != 1:
        return f"count:{len(parsed)}"
    return parsed[0]


def parse_fragment(
    text: str, path: str | None = None, what: str = "SQL expression", table: str | None = None
) -> exp.Expression:
    """Parse one contract fragment into an expression tree (a fresh copy: callers may rewrite it).

    Raises :class:`UnsafeSqlError` (a :class:`~dynamigrate.errors.SqlGenError`) naming ``path`` when
    the text is not exactly one plain expression.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnsafeSqlError(f"the {what} is empty", path=path, table=table, hint="write an SQL expression")
    _check_tokens(text, what, path, table, allow_final_semicolon=False)
    parsed = _parse_cached(text)
    if isinstance(parsed, str) or parsed is None:
        detail = (
            parsed[6:] if isinstance(parsed, str) and parsed.startswith("error:") else "not one expression"
        )
        raise UnsafeSqlError(
            f"the {what} {text!r} is not a valid SQL expression ({detail.splitlines()[0] if detail else ''})",
            path=path,
            table=table,
            hint="write one MySQL expression over qualified columns, e.g. users.id = orders.user_id",
        )
    tree = parsed.copy()
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            kind = type(node).__name__
            raise UnsafeSqlError(
                f"the {what} {text!r} contains {_describe(node)} ({kind}); only plain expressions are allowed",
                path=path,
                table=table,
                hint=_hint_for(node),
            )
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
            if name in FORBIDDEN_FUNCTIONS:
                raise UnsafeSqlError(
                    f"the {what} {text!r} calls {name}(), which is not allowed in a view",
                    path=path,
                    table=table,
                    hint="remove the call",
                )
    return tree


def _describe(node: Any) -> str:
    if isinstance(node, exp.Query | exp.Subquery):
        return "a subquery"
    if isinstance(node, exp.PropertyEQ | exp.SessionParameter | exp.Parameter):
        return "a variable"
    if isinstance(node, exp.Placeholder):
        return "a placeholder"
    if isinstance(node, exp.Star):
        return "'*'"
    if isinstance(node, exp.Alias):
        return "an alias (AS ...)"
    return "a statement"


def _hint_for(node: Any) -> str:
    if isinstance(node, exp.Query | exp.Subquery):
        return (
            "express related rows with a join (foreign-key, chain...), an aggregate calculation or a "
            "json-construction instead of a subquery"
        )
    if isinstance(node, exp.Alias):
        return "remove the alias; the attribute name is the column name"
    return "write one plain SQL expression"


def assert_single_create_view(sql: str, dialect: str = "mysql", table: str | None = None) -> None:
    """Check that ``sql`` is exactly one CREATE VIEW whose body is a SELECT (or UNION of SELECTs).

    Comments are not allowed inside a statement (the generator writes them between statements), nor
    is any second statement. Raises :class:`UnsafeSqlError` with the table and the offending part.
    """
    _check_tokens(sql, "generated statement", None, table, allow_final_semicolon=True)
    try:
        parsed = [e for e in sqlglot.parse(sql, read="mysql") if e is not None]
    except (ParseError, TokenError) as exc:
        raise UnsafeSqlError(
            f"the generated statement does not parse as {dialect} SQL: {str(exc).splitlines()[0]}",
            table=table,
            hint="this is a bug in the generator or an unsupported contract construct; report it",
        ) from None
    if len(parsed) != 1:
        raise UnsafeSqlError(
            f"the generated text holds {len(parsed)} statements, expected one CREATE VIEW",
            table=table,
            fragment=sql[:200],
        )
    stmt = parsed[0]
    if not isinstance(stmt, exp.Create) or str(stmt.args.get("kind") or "").upper() != "VIEW":
        raise UnsafeSqlError(
            "the generated statement is not a CREATE VIEW", table=table, fragment=stmt.sql("mysql")[:200]
        )
    body = stmt.expression
    if not isinstance(body, exp.Select | exp.Union):
        raise UnsafeSqlError(
            "the body of the generated view is not a SELECT", table=table, fragment=sql[:200]
        )
    for node in body.walk():
        if isinstance(node, exp.Command | exp.DDL | exp.DML | exp.Drop | exp.Alter | exp.Set | exp.Use):
            raise UnsafeSqlError(
                "the generated view contains a statement", table=table, fragment=node.sql("mysql")[:200]
            )
        if isinstance(node, exp.PropertyEQ | exp.Into):
            raise UnsafeSqlError(
                "the generated view assigns a variable", table=table, fragment=node.sql("mysql")[:200]
            )


def parse_order_by(text: str, path: str | None = None, table: str | None = None) -> list[exp.Ordered]:
    """Parse an ORDER BY list (``created_at DESC, id``) into ordered expressions, with the same checks
    as :func:`parse_fragment`."""
    what = "order_by"
    if not isinstance(text, str) or not text.strip():
        raise UnsafeSqlError("the order_by is empty", path=path, table=table, hint="e.g. created_at DESC")
    _check_tokens(text, what, path, table, allow_final_semicolon=False)
    parsed = _parse_cached("SELECT 1 ORDER BY " + text)
    ok = isinstance(parsed, exp.Select) and [k for k, v in parsed.args.items() if v] == [
        "expressions",
        "order",
    ]
    if not ok or not isinstance(parsed, exp.Select):
        raise UnsafeSqlError(
            f"the order_by {text!r} is not a list of expressions with ASC/DESC",
            path=path,
            table=table,
            hint='e.g. "created_at DESC, id"',
        )
    items = [o.copy() for o in parsed.args["order"].expressions]
    for item in items:
        for node in item.walk():
            if isinstance(node, _FORBIDDEN_NODES):
                raise UnsafeSqlError(
                    f"the order_by {text!r} contains {_describe(node)}",
                    path=path,
                    table=table,
                    hint=_hint_for(node),
                )
            if isinstance(node, exp.Func):
                name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
                if name in FORBIDDEN_FUNCTIONS:
                    raise UnsafeSqlError(
                        f"the order_by {text!r} calls {name}()",
                        path=path,
                        table=table,
                        hint="remove the call",
                    )
    return items
