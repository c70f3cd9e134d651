"""Contract SQL fragments (conditions, select expressions, ``case`` parts, filters) for the evaluator.

A fragment is SQL by definition. The evaluator parses it (sqlglot's MySQL reader) only to find its
column references; each reference is then rewritten *in the original text* to the alias of the one
single-table SELECT that evaluates it (```_t`.`col```). Nothing else of the fragment is re-rendered,
so the server sees the contract's own expression.

Fragments that are not one plain expression (statements, subqueries, comments, variables, ``;``) are
refused with :class:`EvaluationUnsupported`: the evaluator only ever runs SELECTs, and a fragment must
not change that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from dynamigrate.errors import DynamigrateError

#: The alias every single-table SELECT of the evaluator gives its table.
ROW_ALIAS = "_t"


class EvaluationUnsupported(DynamigrateError):
    """The contract uses something the reference evaluator cannot compute independently."""


def quote(identifier: str) -> str:
    """A quoted identifier. Every statement of the evaluator is sent with a parameter tuple, which PyMySQL
    formats with ``%``: so a ``%`` in contract text is doubled (here, in :meth:`Fragment.render` and in
    ``slots.sql_text``)."""
    if not identifier or "\x00" in identifier:
        raise EvaluationUnsupported(f"invalid SQL identifier {identifier!r}")
    return "`" + identifier.replace("`", "``").replace("%", "%%") + "`"


_FORBIDDEN = (
    exp.Subquery,
    exp.Select,
    exp.Union,
    exp.Command,
    exp.Placeholder,
    exp.Parameter,
    exp.SessionParameter,
)


@dataclass(frozen=True)
class ColumnRef:
    qualifier: str | None  # table name or alias as written, None when unqualified
    name: str
    start: int  # span in the text (inclusive start, exclusive end)
    end: int


@dataclass(frozen=True)
class Fragment:
    """A parsed fragment: its text, its tree and its column references (in text order)."""

    text: str
    tree: exp.Expression
    columns: tuple[ColumnRef, ...]
    path: str = ""

    def render(
        self,
        alias_of: Callable[[ColumnRef], str | None],
        widen: Callable[[ColumnRef], str | None] | None = None,
    ) -> str:
        """The text with every column reference rewritten to ``alias.column`` (``alias_of`` returns the
        alias for a reference, or None to keep the column unqualified); a reference for which ``widen``
        names a type is read as ``CAST(... AS <type>)`` (FLOAT columns as DOUBLE: the server sends a
        FLOAT with 6 significant digits, the DOUBLE of the same binary value exactly; BIT as UNSIGNED). A ``%`` of the text is doubled
        (see :func:`quote`)."""
        out = []
        pos = 0
        for ref in self.columns:
            out.append(self.text[pos : ref.start].replace("%", "%%"))
            alias = alias_of(ref)
            sql = f"{quote(alias)}.{quote(ref.name)}" if alias else quote(ref.name)
            cast = widen(ref) if widen is not None else None
            out.append(f"CAST({sql} AS {cast})" if cast else sql)
            pos = ref.end
        out.append(self.text[pos:].replace("%", "%%"))
        return "(" + "".join(out) + ")"

    @property
    def is_bare_column(self) -> bool:
        return isinstance(self.tree, exp.Column)


def _check_tokens(text: str, path: str) -> None:
    try:
        tokens = sqlglot.tokenize(text, read="mysql")
    except TokenError as exc:
        raise EvaluationUnsupported(f"cannot read the SQL fragment {text!r}: {exc}", path=path) from None
    for tok in tokens:
        if tok.comments:
            raise EvaluationUnsupported(f"the SQL fragment {text!r} holds a comment", path=path)
        if tok.token_type in (TokenType.SEMICOLON, TokenType.PARAMETER, TokenType.SESSION_PARAMETER):
            raise EvaluationUnsupported(f"the SQL fragment {text!r} is not one expression", path=path)


def parse(text: str, path: str = "") -> Fragment:
    """Parse one contract fragment; EvaluationUnsupported when it is not one plain expression."""
    if not isinstance(text, str) or not text.strip():
        raise EvaluationUnsupported(f"empty SQL fragment {text!r}", path=path)
    _check_tokens(text, path)
    try:
        trees = sqlglot.parse(text, read="mysql")
    except (ParseError, TokenError) as exc:
        raise EvaluationUnsupported(f"cannot parse the SQL fragment {text!r}: {exc}", path=path) from None
    if len(trees) != 1 or trees[0] is None:
        raise EvaluationUnsupported(f"the SQL fragment {text!r} is not one expression", path=path)
    tree: exp.Expression = trees[0]  # type: ignore[assignment]
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise EvaluationUnsupported(
                f"the SQL fragment {text!r} holds a subquery, statement or variable", path=path
            )
    refs: list[ColumnRef] = []
    for col in tree.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            raise EvaluationUnsupported(f"'*' in the SQL fragment {text!r}", path=path)
        if col.args.get("db") is not None:
            raise EvaluationUnsupported(f"the SQL fragment {text!r} names a database", path=path)
        ident = col.this
        meta = ident.meta if isinstance(ident, exp.Identifier) else {}
        table_ident = col.args.get("table")
        if "start" not in meta:
            raise EvaluationUnsupported(f"cannot locate the columns of the SQL fragment {text!r}", path=path)
        start = int(meta["start"])
        end = int(meta["end"]) + 1
        if isinstance(table_ident, exp.Identifier) and "start" in table_ident.meta:
            start = int(table_ident.meta["start"])
        # quoted identifiers: the meta span excludes the closing backtick
        if end < len(text) and text[end] == "`":
            end += 1
        if start > 0 and text[start - 1] == "`" and (not table_ident):
            start -= 1
        refs.append(ColumnRef(col.table or None, col.name, start, end))
    refs.sort(key=lambda r: r.start)
    return Fragment(text=text, tree=tree, columns=tuple(refs), path=path)


def split_and(fragment: Fragment) -> list[exp.Expression]:
    """The top-level AND conjuncts of a condition."""
    tree = fragment.tree
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if isinstance(tree, exp.And):
        return [part for part in tree.flatten() if isinstance(part, exp.Expression)]
    return [tree]


def subfragment(fragment: Fragment, node: exp.Expression) -> Fragment:
    """The fragment of one node of ``fragment``'s tree (re-parsed from its own text span)."""
    text = node.sql("mysql")
    return parse(text, fragment.path)


def order_items(text: str, path: str) -> list[tuple[Fragment, bool]]:
    """``order_by`` text -> [(expression, descending)] (``a DESC, b``)."""
    try:
        tree = sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", read="mysql")
    except (ParseError, TokenError) as exc:
        raise EvaluationUnsupported(f"cannot parse order_by {text!r}: {exc}", path=path) from None
    order = tree.args.get("order")
    if order is None:
        raise EvaluationUnsupported(f"cannot parse order_by {text!r}", path=path)
    out = []
    for item in order.expressions:
        desc = bool(item.args.get("desc"))
        out.append((parse(item.this.sql("mysql"), path), desc))
    return out
