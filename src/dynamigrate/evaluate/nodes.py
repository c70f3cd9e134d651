"""How one attribute's value is computed from the rows the evaluator fetched (pure Python).

Every node returns ``(value, fsp)``: the raw value as PyMySQL returned it (or a value the node built)
and the fractional-second precision of the result column (for printing dates), or ``(None, None)``
for NULL (the attribute is then absent). Nodes read a :class:`Context`: the rows of the current source
row's slots (the source row itself, one row or None per to-one join, a list per to-many construct).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from decimal import Context as DecContext
from typing import Any, Protocol

from dynamigrate.contract.validate import source_format_name
from dynamigrate.evaluate.schema import sort_key
from dynamigrate.evaluate.values import JsonNumber, Reject, exact_decimal, json_member, mysql_text

V = tuple[Any, "int | None"]
NULL: V = (None, None)


@dataclass
class SlotRow:
    values: Sequence[Any]
    fsp: Sequence[int | None]


class Context(Protocol):
    def one(self, slot: str) -> SlotRow | None: ...
    def null_row(self, slot: str) -> SlotRow: ...
    def many(self, slot: str) -> list[SlotRow]: ...
    def folded(self, slot: str) -> V: ...


class Node:
    def eval(self, ctx: Context) -> V:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class Const(Node):
    value: Any

    def eval(self, ctx: Context) -> V:
        return (self.value, None)


@dataclass
class Expr(Node):
    """An expression of a to-one slot (the source row, or a joined row). ``absent_when_missing``: no
    joined row gives NULL (foreign-key semantics); otherwise the expression is evaluated over an
    all-NULL row (LEFT JOIN semantics, used by conditionals)."""

    slot: str
    index: int
    absent_when_missing: bool = False

    def eval(self, ctx: Context) -> V:
        row = ctx.one(self.slot)
        if row is None:
            if self.absent_when_missing:
                return NULL
            row = ctx.null_row(self.slot)
        return (row.values[self.index], row.fsp[self.index])


@dataclass
class Matched(Node):
    """1 when the slot has a row, else 0."""

    slot: str

    def eval(self, ctx: Context) -> V:
        return (1 if ctx.one(self.slot) is not None else 0, None)


@dataclass
class IfElse(Node):
    """``CASE WHEN cond THEN a ELSE b END``: ``cond`` is 1/0/NULL (already SQL truth)."""

    cond: Node
    then: Node
    other: Node

    def eval(self, ctx: Context) -> V:
        c, _ = self.cond.eval(ctx)
        return self.then.eval(ctx) if c not in (None, 0) else self.other.eval(ctx)


@dataclass
class Format(Node):
    """string-format: literal text and values; any NULL value makes the whole text NULL."""

    parts: tuple[str | Node, ...]

    def eval(self, ctx: Context) -> V:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value, fsp = part.eval(ctx)
            if value is None:
                return NULL
            out.append(mysql_text(value, fsp))
        return ("".join(out), None)


@dataclass
class Join(Node):
    """Values joined by a separator, NULLs skipped; NULL when every value is NULL."""

    parts: tuple[Node, ...]
    separator: str

    def eval(self, ctx: Context) -> V:
        texts = []
        for part in self.parts:
            value, fsp = part.eval(ctx)
            if value is not None:
                texts.append(mysql_text(value, fsp))
        return (self.separator.join(texts), None) if texts else NULL


# -- dates --------------------------------------------------------------------------------------------

_TOKENS = ("YYYY", "MM", "DD", "HH", "mm", "ss")


def _tokenize(fmt: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(fmt):
        for tok in _TOKENS:
            if fmt.startswith(tok, i):
                out.append("\x00" + tok)
                i += len(tok)
                break
        else:
            out.append(fmt[i])
            i += 1
    return out


def format_date(value: dt.date, fmt: str) -> str:
    """The contract's date tokens applied to a date/datetime (``YYYY-MM`` -> ``2024-05``)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    fields = {
        "YYYY": f"{moment.year:04d}",
        "MM": f"{moment.month:02d}",
        "DD": f"{moment.day:02d}",
        "HH": f"{moment.hour:02d}",
        "mm": f"{moment.minute:02d}",
        "ss": f"{moment.second:02d}",
    }
    return "".join(fields[p[1:]] if p.startswith("\x00") else p for p in _tokenize(fmt))


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,
)
_EPOCH_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$", re.ASCII)
_EPOCH = dt.datetime(1970, 1, 1)


def _token_date(text: str, fmt: str) -> dt.date | None:
    """Text read with the contract's tokens: the whole text must have the pattern's shape (``YYYY`` four
    digits, the other tokens one or two, two when a token follows directly), and be a real date; only
    date tokens give a DATE, any time token a DATETIME. Anything else gives None: never a guessed, partial or impossible date."""
    pattern = ""
    names: list[str] = []
    parts = _tokenize(fmt)
    for i, p in enumerate(parts):
        if p.startswith("\x00"):
            # two digits exactly when another token follows directly (YYYYMMDD: no guessed split)
            glued = i + 1 < len(parts) and parts[i + 1].startswith("\x00")
            pattern += r"(\d{4})" if p == "\x00YYYY" else r"(\d{2})" if glued else r"(\d{1,2})"
            names.append(p[1:])
        else:
            pattern += re.escape(p)
    m = re.fullmatch(pattern, text, flags=re.ASCII)
    if not m:
        return None
    got = dict(zip(names, (int(g) for g in m.groups()), strict=True))
    n = [got.get(k, 0) for k in _TOKENS]
    try:
        if any(k in got for k in ("HH", "mm", "ss")):
            return dt.datetime(n[0], n[1], n[2], n[3], n[4], n[5])
        return dt.date(n[0], n[1], n[2])
    except ValueError:
        return None


def _iso8601(text: str) -> dt.date | None:
    """``YYYY-MM-DD``, or date and time (``T`` or space, minutes or seconds, optional fraction, which
    is dropped) with an optional zone: an offset is converted to UTC, ``Z`` and no zone as written."""
    m = _ISO_DATE.match(text)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    m = _ISO_DATETIME.match(text)
    if not m:
        return None
    try:
        moment = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError:
        return None
    zone = m[7]
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        offset = dt.timedelta(hours=hours, minutes=minutes)
        moment = moment - offset if zone[0] == "+" else moment + offset
    return moment


def _epoch(text: str, millis: bool) -> dt.date | None:
    if not _EPOCH_NUMBER.match(text):
        return None
    with localcontext(DecContext(prec=60)):
        seconds = Decimal(text) / (1000 if millis else 1)
        micros = int((seconds * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))
    try:
        return _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        return None


def parse_date(text: str, source_format: str | None) -> dt.date | None:
    """Text read as a date per ``source_format`` (docs/views.md, date-format): a token pattern, or a
    name (date, datetime, iso8601, epoch, epoch_ms and their aliases); without one, the server's own
    reading of date text. Empty text or text of another shape gives None, never a guessed date."""
    text = text.strip(" ")
    if not text:
        return None
    if source_format is None:
        m = re.match(
            r"^(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?)?", text
        )
        if not m:
            return None
        try:
            if m.group(4) is None:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            micro = int((m.group(7) or "0").ljust(6, "0"))
            return dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), micro)
        except ValueError:
            return None
    name = source_format_name(source_format)
    if name == "date":
        return _token_date(text, "YYYY-MM-DD")
    if name == "datetime":
        return _token_date(text, "YYYY-MM-DD HH:mm:ss")
    if name == "iso8601":
        return _iso8601(text)
    if name in ("epoch", "epoch_ms"):
        return _epoch(text, name == "epoch_ms")
    return _token_date(text, source_format)


@dataclass
class DateFormat(Node):
    value: Node
    fmt: str
    source_format: str | None = None

    def eval(self, ctx: Context) -> V:
        value, _ = self.value.eval(ctx)
        if value is None:
            return NULL
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if self.source_format and isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = mysql_text(value)  # an epoch in a number column is read as its text
        if isinstance(value, str):
            parsed = parse_date(value, self.source_format)
            if parsed is None:
                return NULL
            value = parsed
        if not isinstance(value, dt.date):
            return NULL
        return (format_date(value, self.fmt), None)


_UNITS = {"MICROSECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def add_interval(value: dt.date, n: int, unit: str) -> dt.date:
    if unit in ("MONTH", "QUARTER", "YEAR"):
        months = n * {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit]
        total = value.year * 12 + (value.month - 1) + months
        year, month = divmod(total, 12)
        day = min(value.day, calendar.monthrange(year, month + 1)[1])
        return value.replace(year=year, month=month + 1, day=day)
    delta = {
        "MICROSECOND": dt.timedelta(microseconds=n),
        "SECOND": dt.timedelta(seconds=n),
        "MINUTE": dt.timedelta(minutes=n),
        "HOUR": dt.timedelta(hours=n),
        "DAY": dt.timedelta(days=n),
        "WEEK": dt.timedelta(weeks=n),
    }[unit]
    if not isinstance(value, dt.datetime) and unit not in ("DAY", "WEEK"):
        value = dt.datetime(value.year, value.month, value.day)
    return value + delta


@dataclass
class DateMath(Node):
    value: Node
    amount: int
    unit: str
    fmt: str | None = None

    def eval(self, ctx: Context) -> V:
        value, fsp = self.value.eval(ctx)
        if value is None:
            return NULL
        if isinstance(value, str):
            parsed = parse_date(value, None)
            if parsed is None:
                return NULL
            value = parsed
        if not isinstance(value, dt.date):
            return NULL
        try:
            out = add_interval(value, self.amount, self.unit)
        except (OverflowError, ValueError):
            return NULL
        if self.fmt:
            return (format_date(out, self.fmt), None)
        return (out, fsp)


@dataclass
class NumberFormat(Node):
    """``000000`` pads an integer to that width (never truncates, sign in front); ``0.00`` fixes the
    decimals (rounded half away from zero); ``000.00`` does both."""

    value: Node
    width: int
    decimals: int

    def eval(self, ctx: Context) -> V:
        value, _ = self.value.eval(ctx)
        if value is None:
            return NULL
        try:
            dec = exact_decimal(value)
        except Reject:
            return NULL
        with localcontext(DecContext(prec=200)):
            rounded = dec.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)
            digits = format(rounded.copy_abs(), "f")
        if self.width > 1:
            total = self.width + (self.decimals + 1 if self.decimals else 0)
            digits = digits.rjust(total, "0")
        return (("-" if rounded < 0 else "") + digits, None)


# -- to-many ----------------------------------------------------------------------------------------


def weighted_key(value: Any, weight: Any) -> Any:
    """How SQL orders and compares a value: text by its collation weight (from the server), numbers
    numerically, the rest naturally; NULL first."""
    if isinstance(value, str) and isinstance(weight, bytes | bytearray):
        return (2, bytes(weight))
    return sort_key(value)


class Accumulator:
    """One aggregate folded over related rows as they stream by (memory: O(1), O(distinct) for
    DISTINCT). COUNT of nothing is 0; SUM/AVG/MIN/MAX of nothing are NULL. SUM keeps the largest scale
    of its values (integers stay integers); AVG is rounded half up to that scale plus
    ``div_precision_increment``, as the server does."""

    __slots__ = (
        "all_int",
        "best",
        "best_key",
        "count",
        "distinct",
        "div_precision",
        "op",
        "scale",
        "seen",
        "total",
    )

    def __init__(self, op: str, distinct: bool, div_precision: int):
        self.op = op
        self.distinct = distinct
        self.div_precision = div_precision
        self.count = 0
        self.total = Decimal(0)
        self.all_int = True
        self.scale = 0
        self.best: V | None = None
        self.best_key: Any = None
        self.seen: set[Any] | None = set() if distinct else None

    def add_row(self) -> None:
        """COUNT(*): one more related row."""
        self.count += 1

    def add(self, value: Any, fsp: int | None, weight: Any = None) -> None:
        """One value; ``weight`` is the collation weight of a text value (compares like the server)."""
        if value is None:
            return
        order = weighted_key(value, weight)
        if self.seen is not None:
            if order in self.seen:
                return
            self.seen.add(order)
        self.count += 1
        if self.op in ("MIN", "MAX"):
            if self.best is None or (
                (order < self.best_key) if self.op == "MIN" else (order > self.best_key)
            ):
                self.best = (value, fsp)
                self.best_key = order
        elif self.op in ("SUM", "AVG"):
            if isinstance(value, int) and not isinstance(value, bool):
                d = Decimal(value)
            else:
                self.all_int = False
                d = exact_decimal(value)
                exp = d.as_tuple().exponent
                self.scale = max(self.scale, -exp if isinstance(exp, int) and exp < 0 else 0, fsp or 0)
            with localcontext(DecContext(prec=200)):
                self.total += d

    def result(self) -> V:
        if self.op == "COUNT":
            return (self.count, None)
        if self.count == 0:
            return NULL
        if self.op in ("MIN", "MAX"):
            return self.best or NULL
        with localcontext(DecContext(prec=200)):
            if self.op == "SUM":
                if self.all_int:
                    return (int(self.total), None)
                return (self.total.quantize(Decimal(1).scaleb(-self.scale)), None)
            mean = (self.total / Decimal(self.count)).quantize(
                Decimal(1).scaleb(-(self.scale + self.div_precision)), rounding=ROUND_HALF_UP
            )
        return (mean, None)


@dataclass
class Aggregate(Node):
    """SUM/COUNT/AVG/MIN/MAX over the related rows, folded while they are read (:class:`Accumulator`)."""

    slot: str
    op: str
    index: int | None  # None: COUNT(*)
    distinct: bool = False
    div_precision: int = 4
    weight_index: int | None = None

    def accumulator(self) -> Accumulator:
        return Accumulator(self.op, self.distinct, self.div_precision)

    def fold(self, acc: Accumulator, row: SlotRow) -> None:
        if self.index is None:
            acc.add_row()
        else:
            weight = row.values[self.weight_index] if self.weight_index is not None else None
            acc.add(row.values[self.index], row.fsp[self.index], weight)

    def eval(self, ctx: Context) -> V:
        return ctx.folded(self.slot)


@dataclass
class Member:
    key: str
    index: int
    json_column: bool = False


@dataclass
class Construct(Node):
    """json-construction: an array of objects (one per related row, already ordered and limited) or the
    first related row's object. The value is a Python document (list/dict of JSON values)."""

    slot: str
    kind: str  # array | object
    members: tuple[Member, ...]

    def element(self, row: SlotRow) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in self.members:
            out[m.key] = json_member(row.values[m.index], row.fsp[m.index], m.json_column)
        return out

    def eval(self, ctx: Context) -> V:
        rows = ctx.many(self.slot)
        if self.kind == "object":
            return (self.element(rows[0]), None) if rows else NULL
        return ([self.element(r) for r in rows], None)


__all__ = [
    "NULL",
    "Aggregate",
    "Const",
    "Construct",
    "Context",
    "DateFormat",
    "DateMath",
    "Expr",
    "Format",
    "IfElse",
    "Join",
    "JsonNumber",
    "Matched",
    "Member",
    "Node",
    "NumberFormat",
    "SlotRow",
]
