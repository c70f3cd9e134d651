"""Guards that keep contract text from becoming anything but an expression inside one CREATE VIEW.

Two checks:

* :func:`parse_fragment` parses one contract fragment (a join condition, a select expression...) and
  refuses statement separators, comments, statements, subqueries, variables and a few functions that
  have no business in a view (SLEEP, LOAD_FILE...), naming the JSON path of the fragment.
* :func:`assert_single_create_view` checks, before anything runs, that a generated statement is exactly
  one ``CREATE [OR REPLACE] VIEW`` whose body is a SELECT (or a UNION of SELECTs).
"""

from __future__ import annotations

import json
import re
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
        # information about the server and the session, like @@hostname: it has no place in the items
        "USER",
        "SYSTEM_USER",
        "SESSION_USER",
        "CURRENT_USER",
        "CURRENT_ROLE",
        "CONNECTION_ID",
        "DATABASE",
        "SCHEMA",
        "VERSION",
        "ROW_COUNT",
        "FOUND_ROWS",
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


_MYSQL = sqlglot.Dialect.get_or_raise("mysql")


class _Refusal(tuple[str, str, str]):
    """(message, hint, kind) of a fragment that cannot be used; cached like a parsed tree."""


def _comment_or_separator(text: str, tokens: list[Any], allow_final_semicolon: bool) -> _Refusal | None:
    for i, tok in enumerate(tokens):
        if tok.comments:
            return _Refusal(("contains an SQL comment", _COMMENT_HINT, "comment"))
        if tok.token_type == TokenType.SEMICOLON and not (allow_final_semicolon and i == len(tokens) - 1):
            return _Refusal(
                (
                    "contains ';' (a statement separator)",
                    "a contract fragment is one SQL expression; remove ';' and anything after it",
                    "semicolon",
                )
            )
    # sqlglot attaches a comment at the very end of the text to the last token, or may swallow it:
    # also refuse the raw markers outside quoted strings and identifiers
    stripped = _strip_strings(text)
    if "--" in stripped or "#" in stripped or "/*" in stripped:
        return _Refusal(("contains an SQL comment", _COMMENT_HINT, "comment"))
    return None


_COMMENT_HINT = "remove the comment ('-- ', '#', '/* */'): a contract fragment is one expression"


def _forbidden(tree: Any) -> _Refusal | None:
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            return _Refusal(
                (f"contains {_describe(node)} ({type(node).__name__})", _hint_for(node), "forbidden")
            )
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
            if name in FORBIDDEN_FUNCTIONS:
                return _Refusal(
                    (f"calls {name}(), which is not allowed in a view", "remove the call", "function")
                )
    return None


@lru_cache(maxsize=8192)
def _analyse(text: str, order_by: bool = False) -> Any:
    """The validated tree of a fragment (never mutate it: callers copy), or a :class:`_Refusal`.

    Tokenized once; the tokens are checked (comments, ';') and then parsed.
    """
    source = "SELECT 1 ORDER BY " + text if order_by else text
    try:
        tokens = _MYSQL.tokenize(source)
    except (TokenError, ParseError, ValueError) as exc:
        return _Refusal(
            (f"cannot be read ({str(exc).splitlines()[0]})", "write a single SQL expression", "syntax")
        )
    refusal = _comment_or_separator(text, tokens, allow_final_semicolon=False) or _empty_list_item(
        text, tokens, len(source) - len(text), order_by
    )
    if refusal is not None:
        return refusal
    try:
        parsed = [e for e in _MYSQL.parser().parse(tokens, source) if e is not None]
    except (ParseError, TokenError) as exc:
        if order_by:
            return _Refusal(
                (
                    f"is not a list of expressions with ASC/DESC ({str(exc).splitlines()[0]})",
                    _ORDER_BY_HINT,
                    "syntax",
                )
            )
        return _Refusal(
            (
                f"is not a valid SQL expression ({str(exc).splitlines()[0]})",
                "write one MySQL expression over qualified columns, e.g. users.id = orders.user_id",
                "syntax",
            )
        )
    if len(parsed) != 1:
        return _Refusal(
            (
                "is not one SQL expression",
                "write one MySQL expression over qualified columns, e.g. users.id = orders.user_id",
                "syntax",
            )
        )
    tree = parsed[0]
    if order_by:
        ok = isinstance(tree, exp.Select) and [k for k, v in tree.args.items() if v] == [
            "expressions",
            "order",
        ]
        if not ok:
            return _Refusal(("is not a list of expressions with ASC/DESC", _ORDER_BY_HINT, "syntax"))
        items = tree.args["order"].expressions
        for item in items:
            refusal = _forbidden(item)
            if refusal is not None:
                return refusal
        return tuple(items)
    refusal = _forbidden(tree)
    return refusal if refusal is not None else tree


_ORDER_BY_HINT = 'e.g. "created_at DESC, id": expressions separated by commas, each optionally ASC or DESC'


def _extra_commas(tokens: list[Any], offset: int) -> list[int]:
    """Positions (in the text that starts at ``offset`` of the tokenized source) of the commas that
    leave a list item empty: first or last, after ``(`` or another comma, before ``)``."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.token_type != TokenType.COMMA or tok.start < offset:
            continue
        prev = tokens[i - 1] if i > 0 and tokens[i - 1].start >= offset else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            prev is None
            or prev.token_type in (TokenType.COMMA, TokenType.L_PAREN)
            or nxt is None
            or nxt.token_type == TokenType.R_PAREN
        ):
            out.append(tok.start - offset)
    return out


def _without_empty_items(text: str) -> str:
    """An order_by list with its empty items removed (``a DESC,, b`` -> ``a DESC, b``)."""
    prefix = "SELECT 1 ORDER BY "
    for _ in range(len(text)):
        extra = _extra_commas(_MYSQL.tokenize(prefix + text), len(prefix))
        if not extra:
            break
        drop = set(extra)
        for at in extra:  # with the blanks before it: "a, , b" -> "a, b"
            while at > 0 and text[at - 1].isspace():
                at -= 1
                drop.add(at)
        text = "".join(ch for i, ch in enumerate(text) if i not in drop)
    return text.strip()


def _empty_list_item(text: str, tokens: list[Any], offset: int, order_by: bool) -> _Refusal | None:
    """A list item left empty (``IF(a,,b)``, ``CONCAT(a,)``, an order_by ``a,,b``): MySQL refuses it,
    while the parser would quietly read another expression (``IF(a, b, NULL)``), so it stops here with
    the corrected order_by, or the place of the empty item.

    ``offset`` is where ``text`` starts in the tokenized source (after the order_by prefix)."""
    extra = _extra_commas(tokens, offset)
    if not extra:
        return None
    at = extra[0]
    where = f"at character {at + 1}: {text[:at]}<here>{text[at:]}"
    if order_by:
        hint = f'remove the empty item: "order_by": {json.dumps(_without_empty_items(text))}'
    else:
        hint = "write the missing expression between the commas, or remove the extra ','"
    return _Refusal((f"has an empty item in a list ({where})", hint, "syntax"))


_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`", re.DOTALL)


def _strip_strings(text: str) -> str:
    """``text`` without quoted strings and identifiers (for comment-marker checks); an unclosed quote
    keeps the rest of the text, so markers after it are still seen."""
    return _QUOTED.sub("''", text)


def parse_fragment(
    text: str,
    path: str | None = None,
    what: str = "SQL expression",
    table: str | None = None,
    copy: bool = True,
) -> exp.Expression:
    """Parse one contract fragment into an expression tree.

    Raises :class:`UnsafeSqlError` (a :class:`~dynamigrate.errors.SqlGenError`) naming ``path`` when
    the text is not exactly one plain expression: statements, ';', comments, subqueries, variables,
    placeholders, '*', aliases and a few functions (SLEEP, LOAD_FILE...) are refused. With
    ``copy=False`` the shared cached tree is returned: read it, never change it.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnsafeSqlError(f"the {what} is empty", path=path, table=table, hint="write an SQL expression")
    result = _analyse(text)
    if isinstance(result, _Refusal):
        message, hint, _kind = result
        raise UnsafeSqlError(f"the {what} {text!r} {message}", path=path, table=table, hint=hint)
    return result.copy() if copy else result


class _Generator(_MYSQL.generator_class):  # type: ignore[name-defined]
    """MySQL's generator, writing ``a REGEXP b`` (MySQL 8 and MariaDB) instead of ``REGEXP_LIKE(a, b)``,
    which MariaDB does not have (ERROR 1305). REGEXP_LIKE with a match-type flag stays a function:
    there is no operator form of it."""

    TRANSFORMS = {
        **_MYSQL.generator_class.TRANSFORMS,
        exp.RegexpLike: lambda self, e: (
            self.function_fallback_sql(e) if e.args.get("flag") else self.binary(e, "REGEXP")
        ),
    }


def render_sql(tree: exp.Expression) -> str:
    """MySQL text of an expression tree (valid on MariaDB too), every identifier quoted."""
    return _Generator(dialect=_MYSQL, identify=True).generate(tree)


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


def _statement_tokens(sql: str, dialect: str, table: str | None) -> list[Any]:
    """The tokens of one generated statement; UnsafeSqlError for unreadable text, a comment or a
    second statement (the checks both statement guards start with)."""
    try:
        tokens = _MYSQL.tokenize(sql)
    except (TokenError, ParseError, ValueError) as exc:
        raise UnsafeSqlError(
            f"the generated statement cannot be read as {dialect} SQL: {str(exc).splitlines()[0]}",
            table=table,
        ) from None
    refusal = _comment_or_separator(sql, tokens, allow_final_semicolon=True)
    if refusal is not None:
        raise UnsafeSqlError(
            f"the generated statement {refusal[0]}", table=table, fragment=sql[:200], hint=refusal[1]
        )
    return tokens


def assert_single_create_view(sql: str, dialect: str = "mysql", table: str | None = None) -> None:
    """Check that ``sql`` is exactly one CREATE VIEW whose body is a SELECT (or UNION of SELECTs).

    Comments are not allowed inside a statement (the generator writes them between statements), nor
    is any second statement. Raises :class:`UnsafeSqlError` with the table and the offending part.
    """
    tokens = _statement_tokens(sql, dialect, table)
    try:
        parsed = [e for e in _MYSQL.parser().parse(tokens, sql) if e is not None]
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
                "the generated view assigns a variable or writes a file",
                table=table,
                fragment=node.sql("mysql")[:200],
            )


def parse_order_by(text: str, path: str | None = None, table: str | None = None) -> list[exp.Expression]:
    """Parse an ORDER BY list (``created_at DESC, id``) into ordered expressions (fresh copies), with the
    same checks as :func:`parse_fragment`."""
    if not isinstance(text, str) or not text.strip():
        raise UnsafeSqlError("the order_by is empty", path=path, table=table, hint="e.g. created_at DESC")
    result = _analyse(text, order_by=True)
    if isinstance(result, _Refusal):
        message, hint, _kind = result
        raise UnsafeSqlError(f"the order_by {text!r} {message}", path=path, table=table, hint=hint)
    return [item.copy() for item in result]


_SHAPE_FORBIDDEN = frozenset(
    {
        TokenType.INTO,
        TokenType.COLON_EQ,
        TokenType.PARAMETER,
        TokenType.SESSION_PARAMETER,
        TokenType.PLACEHOLDER,
    }
)


def check_statement_shape(sql: str, dialect: str = "mysql", table: str | None = None) -> None:
    """The cheap form of :func:`assert_single_create_view`, on tokens only (no full parse).

    Sound for safety: with no ';' and no comment token (MySQL executes ``/*! ... */``), the text is one
    statement; it must read ``CREATE [OR REPLACE] VIEW <name> AS [(]SELECT ...`` with balanced
    parentheses and no INTO / variables. It does not prove that the body is valid SQL: the full parse
    (:func:`assert_single_create_view`) runs in ``views apply`` and in the golden tests. Used by
    :func:`~dynamigrate.sqlgen.generate_views` by default because parsing megabytes of generated SQL
    with the pure-Python parser costs more than generating it.
    """
    tokens = _statement_tokens(sql, dialect, table)
    types = [t.token_type for t in tokens if t.token_type != TokenType.SEMICOLON]
    i = 1
    if types[1:3] == [TokenType.OR, TokenType.REPLACE]:
        i = 3
    ok = (
        len(types) > i + 3
        and types[0] == TokenType.CREATE
        and types[i] == TokenType.VIEW
        and types[i + 1] in (TokenType.IDENTIFIER, TokenType.VAR)
        and types[i + 2] == TokenType.ALIAS
        and (
            types[i + 3] == TokenType.SELECT
            or (types[i + 3] == TokenType.L_PAREN and TokenType.SELECT in types[i + 4 : i + 8])
        )
    )
    if not ok:
        raise UnsafeSqlError(
            "the generated statement is not CREATE [OR REPLACE] VIEW <name> AS SELECT ...",
            table=table,
            fragment=sql[:200],
        )
    depth = 0
    for tok in tokens:
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                break
        elif tok.token_type in _SHAPE_FORBIDDEN:
            raise UnsafeSqlError(
                f"the generated view contains '{tok.text}' (INTO or a variable)",
                table=table,
                fragment=sql[:200],
            )
    if depth != 0:
        raise UnsafeSqlError(
            "the generated statement has unbalanced parentheses", table=table, fragment=sql[:200]
        )
