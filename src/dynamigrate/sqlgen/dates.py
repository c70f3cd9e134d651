"""How a date-format transformation reads its column: ``source_format`` as SQL (docs/views.md).

``source_format`` is a token pattern (``DD/MM/YYYY``: ``STR_TO_DATE`` with the matching specifiers) or
one of the names people write (contract/validate.py ``SOURCE_FORMAT_NAMES``):

* ``date`` ``YYYY-MM-DD``, ``datetime`` ``YYYY-MM-DD HH:mm:ss``: read as those token patterns;
* a token pattern: the whole text must have its shape (``REGEXP``, :func:`token_regex`) before
  ``STR_TO_DATE`` reads it, and the date must exist (STR_TO_DATE alone reads '2024-01' as 2024-01-00,
  '24-01-05' as 2024, a date without the pattern's time as midnight, and keeps '2024-02-30');
* ``iso8601``: ``YYYY-MM-DD``, or a date and time joined by ``T`` or a space, minutes or seconds,
  optional fraction, optional zone ``Z`` / ``±HH`` / ``±HH:MM`` / ``±HHMM``. A value with an offset is
  converted to UTC by date arithmetic (no time zone tables needed; CONVERT_TZ would refuse +14:00); ``Z`` and values
  without a zone are taken as written;
* ``epoch``: seconds since 1970-01-01 00:00:00 UTC, ``epoch_ms``: milliseconds; computed with
  ``DATE_ADD`` from the epoch, so the session's time zone never changes the result (``FROM_UNIXTIME``
  would use it).

Text that does not have the shape gives NULL, never a wrong date; preflight counts those rows (a NULL
from a non-NULL column) as an error. Patterns are written without backslashes (``[.]`` rather than
``\\.``) so no sql_mode changes them.
"""

from __future__ import annotations

from collections.abc import Callable

from dynamigrate.contract.validate import source_format_name

_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_ISO_DATE_ONLY = f"^{_DATE}$"
_ISO_DATETIME = (
    f"^{_DATE}[T ][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]+)?)?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)?$"
)
_ISO_LOCAL = f"^{_DATE}[T ][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}})?"
_ISO_ZONE = "[+-][0-9]{2}(:?[0-9]{2})?$"
_NUMBER = "^-?[0-9]+([.][0-9]+)?$"
_EPOCH = "CAST('1970-01-01 00:00:00' AS DATETIME)"


def read_date_sql(
    src: str, source_format: str, literal: Callable[[str], str], spec: Callable[[str], str]
) -> str:
    """SQL reading the text of ``src`` as a DATETIME per ``source_format``; ``literal`` quotes a
    string, ``spec`` turns a token pattern into DATE_FORMAT specifiers."""
    name = source_format_name(source_format)
    # empty text is no date: MariaDB's STR_TO_DATE('') gives the zero date 0000-00-00
    text = f"NULLIF(TRIM(CAST({src} AS CHAR)), '')"
    if name == "date":
        return _tokens(text, "YYYY-MM-DD", literal, spec)
    if name == "datetime":
        return _tokens(text, "YYYY-MM-DD HH:mm:ss", literal, spec)
    if name == "epoch":
        return (
            f"CASE WHEN {text} REGEXP {literal(_NUMBER)} THEN DATE_ADD({_EPOCH}, "
            f"INTERVAL CAST({text} AS DECIMAL(30,6)) * 1000000 MICROSECOND) END"
        )
    if name == "epoch_ms":
        return (
            f"CASE WHEN {text} REGEXP {literal(_NUMBER)} THEN DATE_ADD({_EPOCH}, "
            f"INTERVAL CAST({text} AS DECIMAL(30,3)) * 1000 MICROSECOND) END"
        )
    if name == "iso8601":
        local_text = f"REPLACE(REGEXP_SUBSTR({text}, {literal(_ISO_LOCAL)}), 'T', ' ')"
        local = _valid(
            f"STR_TO_DATE({local_text}, CASE WHEN CHAR_LENGTH({local_text}) = 16 "
            f"THEN {literal('%Y-%m-%d %H:%i')} ELSE {literal('%Y-%m-%d %H:%i:%s')} END)"
        )
        iso_date = _valid(f"STR_TO_DATE({text}, {literal('%Y-%m-%d')})")
        zone = f"REGEXP_SUBSTR({text}, {literal(_ISO_ZONE)})"
        # '+02' / '+0200' / '+02:00' -> minutes east of UTC; date arithmetic rather than CONVERT_TZ,
        # whose numeric offsets stop at +13:00 on MariaDB (UTC+14 exists)
        hours = f"CAST(SUBSTRING({zone}, 2, 2) AS SIGNED)"
        mins = f"CAST(CONCAT('0', RIGHT(REPLACE(SUBSTRING({zone}, 4), ':', ''), 2)) AS SIGNED)"
        offset = f"(CASE WHEN LEFT({zone}, 1) = '-' THEN -1 ELSE 1 END) * ({hours} * 60 + {mins})"
        return (
            f"CASE WHEN {text} REGEXP {literal(_ISO_DATE_ONLY)} THEN {iso_date} "
            f"WHEN {text} REGEXP {literal(_ISO_DATETIME)} THEN "
            f"CASE WHEN {zone} IS NULL OR {zone} = '' THEN {local} "
            f"ELSE DATE_SUB({local}, INTERVAL {offset} MINUTE) END END"
        )
    return _tokens(text, source_format, literal, spec)


def _tokens(text: str, pattern: str, literal: Callable[[str], str], spec: Callable[[str], str]) -> str:
    """A token pattern read strictly: the whole text must have the pattern's shape (checked with
    ``REGEXP`` first: STR_TO_DATE alone reads '24-01-05' as 2024, '2024-01' as 2024-01-00 and stops
    before a missing time), and be a date that exists. A pattern without year, month and day never
    names a date: NULL (the evaluator agrees)."""
    if not all(t in pattern for t in ("YYYY", "MM", "DD")):
        return "CAST(NULL AS DATETIME)"
    return (
        f"CASE WHEN {text} REGEXP {literal(token_regex(pattern))} "
        f"THEN {_valid(f'STR_TO_DATE({text}, {literal(spec(pattern))})')} END"
    )


def token_regex(pattern: str) -> str:
    """The shape of a token pattern as a regular expression both servers read alike (PCRE on MariaDB,
    ICU on MySQL 8): ``YYYY`` four digits, another token one or two digits, or exactly two when a token
    follows it directly (``YYYYMMDD``: no guessing where one ends); other characters literal."""
    parts = _split(pattern)
    out = ["^"]
    for i, part in enumerate(parts):
        if part == "YYYY":
            out.append("[0-9]{4}")
        elif part in _TOKENS:
            glued = i + 1 < len(parts) and parts[i + 1] in _TOKENS
            out.append("[0-9]{2}" if glued else "[0-9]{1,2}")
        elif part.isalnum() or part == " ":
            out.append(part)
        else:
            out.append("\\" + part)  # literal() writes text with a backslash sql_mode-proof
    out.append("\\z")  # end of the text: '$' would also match before a final newline (both servers)
    return "".join(out)


_TOKENS = ("YYYY", "MM", "DD", "HH", "mm", "ss")


def _split(pattern: str) -> list[str]:
    """Tokens and single other characters, left to right (the same reading as date_format_spec)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        tok = next((t for t in _TOKENS if pattern.startswith(t, i)), None)
        out.append(tok or pattern[i])
        i += len(tok) if tok else 1
    return out


def _valid(sql: str) -> str:
    """NULL for a date that does not exist: MariaDB's STR_TO_DATE reads '2024-02-30' as it is (and
    DATE_FORMAT prints it), date arithmetic refuses it on both servers."""
    return f"DATE_ADD({sql}, INTERVAL 0 SECOND)"
