"""Split a MySQL script into statements, the way the ``mysql`` client does.

Respects single/double-quoted strings (backslash escapes and doubled quotes), backtick identifiers,
``-- `` / ``#`` line comments, ``/* */`` block comments and ``DELIMITER`` lines. The one statement
splitter of the package: ``dynamigrate.sqlgen.split_statements`` (and so ``views apply``) is this one
with every comment removed (``iter_statements(text, strip_all_comments=True)``).

Also holds the small lexical helpers the MCP adapters need: servers such as PyPI's
``mysql-mcp-server`` refuse any ``;`` but a trailing one, and awslabs' server refuses comments, so a
statement is cleaned (comments removed, trailing ``;`` dropped) before it is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_DELIMITER_RE = re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[ \t]*$", re.IGNORECASE)


@dataclass(frozen=True)
class SqlStatement:
    """One statement of a script: its text (no delimiter) and the 1-based line where it starts."""

    text: str
    line: int


def _is_line_comment_start(text: str, i: int) -> bool:
    if text[i] == "#":
        return True
    # MySQL: "--" starts a comment only when followed by whitespace/control or the end of input
    return text.startswith("--", i) and (i + 2 >= len(text) or text[i + 2] in " \t\r\n\f\v")


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted token starting at ``i`` (unterminated: end of text)."""
    quote = text[i]
    n = len(text)
    j = i + 1
    while j < n:
        c = text[j]
        if c == "\\" and quote != "`":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and text[j + 1] == quote:  # doubled quote is an escaped quote
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _skip_block_comment(text: str, i: int) -> int:
    end = text.find("*/", i + 2)
    return len(text) if end < 0 else end + 2


def _skip_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def iter_statements(text: str, *, strip_all_comments: bool = False) -> Iterator[SqlStatement]:
    """Statements of ``text`` in order; comment-only fragments are dropped.

    By default only the comments that open a statement are cut (the rest of its text is kept as
    written); ``strip_all_comments`` removes every comment, executable ``/*! */`` ones included, and
    drops statements left empty.
    """
    delimiter = ";"
    n = len(text)
    i = 0
    start = 0
    at_line_start = True
    while i < n:
        if at_line_start:
            line_end = _skip_line(text, i)
            m = _DELIMITER_RE.match(text, i, line_end)
            if m and not _strip_range(text, start, i, keep_executable=True).strip():
                delimiter = m.group(1)
                i = start = line_end
                continue
        c = text[i]
        at_line_start = False
        if c in "'\"`":
            i = _skip_quoted(text, i)
        elif c == "/" and text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        elif _is_line_comment_start(text, i):
            i = _skip_line(text, i)
        elif text.startswith(delimiter, i):
            yield from _emit(text, start, i, strip_all_comments)
            i = start = i + len(delimiter)
        else:
            if c == "\n":
                at_line_start = True
            i += 1
    yield from _emit(text, start, n, strip_all_comments)


def _emit(text: str, start: int, end: int, strip_all_comments: bool) -> Iterator[SqlStatement]:
    # comments are recognised on the whole text: "--" just before the delimiter is not a comment
    # ("SELECT 1--;" is "SELECT 1--"), although it would be at the end of the cut-out chunk
    if not _strip_range(text, start, end, keep_executable=True).strip():
        return
    lead = _skip_leading_comments(text, start, end)
    if strip_all_comments:
        body = _strip_range(text, lead, end, keep_executable=False).strip()
        if not body:  # nothing but an executable comment, removed here
            return
    else:
        body = text[lead:end].strip()
    yield SqlStatement(body, text.count("\n", 0, lead) + 1)


def _skip_leading_comments(text: str, i: int, end: int) -> int:
    """Index of the first character of ``text[i:end]`` past whitespace and (non-executable) comments."""
    while i < end:
        if text[i].isspace():
            i += 1
        elif text.startswith("/*", i) and not text.startswith("/*!", i):
            i = min(_skip_block_comment(text, i), end)
        elif _is_line_comment_start(text, i):
            i = min(_skip_line(text, i), end)
        else:
            break
    return i


def split_statements(text: str) -> list[str]:
    """The statements of a script, without delimiters, comment-only fragments dropped."""
    return [s.text for s in iter_statements(text)]


def strip_comments(sql: str, keep_executable: bool = True) -> str:
    """``sql`` without comments (quoted text untouched). ``/*! ... */`` is kept unless asked.

    Block comments become one space so that ``a/**/b`` stays two tokens.
    """
    return _strip_range(sql, 0, len(sql), keep_executable)


def _strip_range(text: str, start: int, end: int, keep_executable: bool) -> str:
    """:func:`strip_comments` of ``text[start:end]``, looking past ``end`` to recognise ``--``."""
    out: list[str] = []
    i = start
    while i < end:
        c = text[i]
        if c in "'\"`":
            j = min(_skip_quoted(text, i), end)
            out.append(text[i:j])
            i = j
        elif c == "/" and text.startswith("/*", i):
            j = min(_skip_block_comment(text, i), end)
            if keep_executable and text.startswith("/*!", i):
                out.append(text[i:j])
            else:
                out.append(" ")
            i = j
        elif _is_line_comment_start(text, i):
            i = min(_skip_line(text, i), end)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def clean_for_single_call(sql: str) -> str:
    """One statement ready for an MCP SQL tool: comments removed, trailing ``;`` dropped, trimmed."""
    text = strip_comments(sql, keep_executable=True).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def semicolon_inside(sql: str) -> bool:
    """True when ``;`` occurs anywhere but at the end (inside a string literal counts too)."""
    return ";" in sql.strip().rstrip(";")


def unquoted_tokens(sql: str) -> str:
    """``sql`` with quoted strings blanked (identifiers in backticks kept), comments removed.

    Handy for keyword checks that must not look inside literals.
    """
    out: list[str] = []
    text = strip_comments(sql, keep_executable=False)
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in "'\"":
            j = _skip_quoted(text, i)
            out.append("''")
            i = j
        elif c == "`":
            j = _skip_quoted(text, i)
            out.append(text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


_CREATE_VIEW_RE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?"
    r"(?:ALGORITHM\s*=\s*\w+\s+)?"
    r"(?:DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|\"[^\"]*\"|[\w.%-]+)(?:\s*@\s*(?:`[^`]*`|'[^']*'|\"[^\"]*\"|[\w.%-]+))?\s+)?"
    r"(?:SQL\s+SECURITY\s+\w+\s+)?"
    r"VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?)",
    re.IGNORECASE,
)


def create_view_name(sql: str) -> str | None:
    """The (unquoted) name of the view a ``CREATE [OR REPLACE] ... VIEW`` statement creates, else None.

    A qualified name ``db.v`` returns ``v``.
    """
    m = _CREATE_VIEW_RE.match(strip_comments(sql, keep_executable=False))
    if not m:
        return None
    last = re.findall(r"`(?:[^`]|``)+`|[\w$]+", m.group(1))[-1]
    if last.startswith("`"):
        last = last[1:-1].replace("``", "`")
    return last
