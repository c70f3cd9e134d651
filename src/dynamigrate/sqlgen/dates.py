"""How a date-format transformation reads its column: ``source_format`` as SQL (docs/views.md).

``source_format`` is a token pattern (``DD/MM/YYYY``: ``STR_TO_DATE`` with the matching specifiers) or
one of the names people write (contract/validate.py ``SOURCE_FORMAT_NAMES``):

* ``date`` ``YYYY-MM-DD``, ``datetime`` ``YYYY-MM-DD HH:mm:ss`` (``STR_TO_DATE``);
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
        return _valid(f"STR_TO_DATE({text}, {literal('%Y-%m-%d')})")
    if name == "datetime":
        return _valid(f"STR_TO_DATE({text}, {literal('%Y-%m-%d %H:%i:%s')})")
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
    return _valid(f"STR_TO_DATE({text}, {literal(spec(source_format))})")


def _valid(sql: str) -> str:
    """NULL for a date that does not exist: MariaDB's STR_TO_DATE reads '2024-02-30' as it is (and
    DATE_FORMAT prints it), date arithmetic refuses it on both servers."""
    return f"DATE_ADD({sql}, INTERVAL 0 SECOND)"
