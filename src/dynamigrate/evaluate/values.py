"""The documented value rules of the contract format, in plain Python (no code shared with the encoder).

``docs/contract-format.md``, "Values in DynamoDB": NULL -> attribute absent; N as exact decimal text,
never through a float; S from DATE/DATETIME/TIME as MySQL prints it (fractional seconds only when the
column has them); BOOL from numbers/BIT (0 false, anything else true) and the usual words; sets
deduplicated, empty set -> absent; items over 400 KB rejected.

Values arrive as PyMySQL returns them (``str``, ``int``, ``Decimal``, ``datetime``, ``date``,
``timedelta``, ``bytes``, ``float``) together with the fractional-second precision of their result
column (``fsp``, from the cursor description), so they can be printed the way the server prints them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from decimal import Context, Decimal, InvalidOperation
from typing import Any

DdbValue = dict[str, Any]
Item = dict[str, DdbValue]

#: DynamoDB's item size limit.
MAX_ITEM_BYTES = 400 * 1024

_EXACT = Context(prec=1000, Emax=999999, Emin=-999999)
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})
_TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})


class Reject(ValueError):
    """A value that cannot become the attribute's DynamoDB type: the row is rejected with ``reason``."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- printing as MySQL does ------------------------------------------------------------------------


def mysql_text(value: Any, fsp: int | None = None) -> str:
    """``value`` as MySQL/MariaDB prints it (``CAST(x AS CHAR)``); ``value`` is never None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + _fraction(value.microsecond, fsp)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        total_us = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
        sign = "-" if total_us < 0 else ""
        total_us = abs(total_us)
        seconds, micro = divmod(total_us, 1_000_000)
        h, rem = divmod(seconds, 3600)
        m, s = divmod(rem, 60)
        return f"{sign}{h:02d}:{m:02d}:{s:02d}" + _fraction(micro, fsp)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("bad_string", f"binary value {_short(raw)} is not UTF-8 text; use type B") from None
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, set | frozenset):
        return ",".join(sorted(str(v) for v in value))
    return str(value)


def double_text(value: float) -> str:
    """A double as MariaDB prints it (``CAST(x AS CHAR)``, JSON): the shortest digits that read back
    (Python's repr digits), written out when the decimal point falls among them
    (``1234567890123456.8``) or within 15 places of them (``999999999999999``, ``0.000000000000001``),
    else ``d.ddde<exp>`` (``1e15``, ``1e-16``, ``1.2345678901234568e16``); zero (also -0) as ``0``.
    Measured on MariaDB 10.11 (test_float_exact.py compares 3,000 values with the server)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise Reject("bad_number", f"{value!r} is not a finite number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    tup = Decimal(repr(abs(value))).normalize(_EXACT).as_tuple()
    digits = "".join(str(d) for d in tup.digits)
    n = len(digits)
    decpt = n + int(tup.exponent)  # value = 0.<digits> x 10^decpt
    if -14 <= decpt <= 15 or 0 < decpt < n:
        if decpt <= 0:
            return f"{sign}0.{'0' * -decpt}{digits}"
        if decpt >= n:
            return sign + digits + "0" * (decpt - n)
        return f"{sign}{digits[:decpt]}.{digits[decpt:]}"
    mantissa = digits[0] + (f".{digits[1:]}" if n > 1 else "")
    return f"{sign}{mantissa}e{decpt - 1}"


def _fraction(micro: int, fsp: int | None) -> str:
    if fsp is None:
        return f".{micro:06d}" if micro else ""
    if fsp <= 0:
        return ""
    return "." + f"{micro:06d}"[: min(fsp, 6)]


# -- numbers ----------------------------------------------------------------------------------------


def exact_decimal(value: Any) -> Decimal:
    """The exact decimal of a number value (int, Decimal, numeric text or bytes); Reject otherwise."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | Decimal):
        dec = Decimal(value)
    elif isinstance(value, str | bytes | bytearray):
        text = value.decode("ascii", "replace") if isinstance(value, bytes | bytearray) else value
        text = text.strip()
        if not _NUMBER.match(text):
            raise Reject("bad_number", f"{_short(value)} is not a decimal number")
        dec = Decimal(text)
    elif isinstance(value, float):
        dec = Decimal(mysql_text(value))
    else:
        raise Reject("bad_number", f"{_short(value)} ({type(value).__name__}) is not a number")
    if not dec.is_finite():
        raise Reject("bad_number", f"{_short(value)} is not a finite number")
    return dec


def number_text(value: Any) -> str:
    """The canonical DynamoDB text of a number: exact, no exponent, no trailing zeros (``1.50`` ->
    ``1.5``, ``-0.00`` -> ``0``), within DynamoDB's limits (38 significant digits, 1E-130..9.99E+125)."""
    dec = exact_decimal(value)
    if dec.is_zero():
        return "0"
    norm = dec.normalize(_EXACT)
    digits = len(norm.as_tuple().digits)
    if digits > 38:
        raise Reject(
            "bad_number", f"{_short(value)} has {digits} significant digits; DynamoDB keeps at most 38"
        )
    if norm.copy_abs() < Decimal("1E-130") or norm.copy_abs() >= Decimal("1E126"):
        raise Reject("bad_number", f"{_short(value)} is outside DynamoDB's number range")
    return format(norm, "f")


def numbers_equal(a: str, b: str) -> bool:
    """Numeric equality of two DynamoDB number texts (``1.50`` == ``1.5`` == ``1.5E0``)."""
    try:
        return Decimal(a).compare_total(Decimal(b)) == 0 or Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


# -- JSON documents --------------------------------------------------------------------------------


class JsonNumber(str):
    """A JSON number kept as its text."""

    __slots__ = ()


def _bad_constant(name: str) -> Any:
    raise Reject("bad_json", f"JSON constant {name} is not a finite number")


def parse_json(text: Any, want: type | None = None, type_name: str = "") -> Any:
    """JSON text (numbers kept exact) -> Python; Reject when it is not JSON or not of kind ``want``."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("bad_json", "the JSON text is not valid UTF-8") from None
    if not isinstance(text, str):
        raise Reject("bad_json", f"expected JSON text, got {type(text).__name__}")
    try:
        doc = json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=_bad_constant)
    except json.JSONDecodeError as exc:
        raise Reject(
            "bad_json", f"not valid JSON ({exc.msg} at position {exc.pos}): {_short(text)}"
        ) from None
    if want is not None and not isinstance(doc, want):
        kind = "an object" if want is dict else "an array"
        raise Reject("bad_json", f"a {type_name} attribute needs {kind}, got {_short(text)}")
    return doc


def json_to_ddb(value: Any) -> DdbValue:
    """A parsed JSON document (or a document the evaluator built) as a DynamoDB value."""
    if value is None:
        return {"NULL": True}
    if value is True or value is False:
        return {"BOOL": value}
    if isinstance(value, JsonNumber | int | Decimal):
        return {"N": number_text(value if not isinstance(value, JsonNumber) else str(value))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        out: dict[str, DdbValue] = {}
        for k, v in value.items():
            if k == "":
                raise Reject(
                    "bad_json", "a JSON object has an empty key; DynamoDB map keys must not be empty"
                )
            out[k] = json_to_ddb(v)
        return {"M": out}
    if isinstance(value, list):
        return {"L": [json_to_ddb(v) for v in value]}
    raise Reject("bad_json", f"cannot represent {type(value).__name__} in a JSON document")


def json_text(value: Any) -> str:
    """A document built by the evaluator as JSON text, in MariaDB's layout (``{"k": v, "k2": v2}``,
    arrays of objects ``[{...},{...}]``). Compare such texts as JSON, not as text (:mod:`.compare`)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {json_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    raise TypeError(type(value).__name__)


def json_member(value: Any, fsp: int | None = None, is_json_column: bool = False) -> Any:
    """A column value as a member of a constructed JSON object (what JSON_OBJECT makes of it): numbers
    stay numbers, temporal values become their text, NULL becomes null, JSON columns nest."""
    if value is None:
        return None
    if is_json_column:
        return parse_json(value)
    if isinstance(value, bool):
        return JsonNumber("1" if value else "0")
    if isinstance(value, int | Decimal | float):
        return JsonNumber(mysql_text(value, fsp))
    if isinstance(value, bytes | bytearray | memoryview):
        # a BINARY/VARBINARY/BLOB column (text columns arrive as str, BIT as its number): base64,
        # as the view writes it (sqlgen json_member)
        return base64.b64encode(bytes(value)).decode("ascii")
    return mysql_text(value, fsp)


# -- typing a value into the attribute's DynamoDB type ---------------------------------------------


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return value != 0
    if isinstance(value, float):
        return value != 0.0
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if raw and len(raw) <= 8 and all(b in (0, 1) for b in raw):
            return any(raw)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("bad_bool", f"{_short(raw)} is not a boolean") from None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _FALSE_WORDS:
            return False
        if text in _TRUE_WORDS:
            return True
        if _NUMBER.match(text):
            return Decimal(text) != 0
        raise Reject("bad_bool", f"{_short(value)} is not a boolean (use 0/1 or true/false)")
    raise Reject("bad_bool", f"{_short(value)} ({type(value).__name__}) is not a boolean")


def _set_members(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise Reject("bad_set", "set text is not valid UTF-8") from None
    if not isinstance(value, str):
        raise Reject("bad_set", f"expected a JSON array text for a set, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            doc = parse_json(text)
        except Reject:
            raise Reject("bad_set", f"set text is not a valid JSON array: {_short(value)}") from None
        if not isinstance(doc, list):
            raise Reject("bad_set", f"set text is not a JSON array: {_short(value)}")
        return doc
    return [part.strip() for part in text.split(",")]


#: DynamoDB's nesting limit below the item (32 levels, the item the first)
MAX_NESTING = 31


def _depth(doc: Any) -> int:
    """Levels of objects/arrays in a decoded JSON document (a scalar: 0)."""
    depth, level = 0, [doc]
    while level:
        level = [x for x in level if isinstance(x, dict | list)]
        if not level:
            break
        depth += 1
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x)]
    return depth


def nesting_checked(doc: Any) -> Any:
    """``doc`` when DynamoDB can store it (at most MAX_NESTING levels), else a ``bad_json`` reject."""
    depth = _depth(doc)
    if depth > MAX_NESTING:
        raise Reject(
            "bad_json",
            f"the document nests {depth} levels of objects/arrays; DynamoDB allows {MAX_NESTING} in an "
            "attribute (32 counting the item)",
        )
    return doc


#: DynamoDB's key value limits in bytes (partition, sort), for the table's and every GSI's keys
KEY_BYTES = {"partition": 2048, "sort": 1024}


def key_too_long(name: str, dv: DdbValue, kind: str) -> str | None:
    """Why an S/B key value is longer than DynamoDB keeps for a ``kind`` ('partition'/'sort') key."""
    raw = next(iter(dv.values()))
    n = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw) if isinstance(raw, bytes) else 0
    limit = KEY_BYTES[kind]
    return (
        f"key attribute '{name}' is {n} bytes; DynamoDB allows {limit} for a {kind} key"
        if n > limit
        else None
    )


def to_ddb(value: Any, atype: str, fsp: int | None = None) -> DdbValue | None:
    """A non-NULL value as a DynamoDB value of type ``atype``; None for an empty set (absent)."""
    if atype == "S":
        return {"S": mysql_text(value, fsp)}
    if atype == "N":
        return {"N": number_text(value if not isinstance(value, float) else mysql_text(value))}
    if atype == "BOOL":
        return {"BOOL": to_bool(value)}
    if atype == "B":
        if isinstance(value, bytes | bytearray | memoryview):
            return {"B": bytes(value)}
        if isinstance(value, str):
            return {"B": value.encode("utf-8")}
        raise Reject("bad_binary", f"expected bytes for a B attribute, got {type(value).__name__}")
    if atype in ("M", "L"):
        if isinstance(value, dict | list):
            doc = value
        else:
            doc = parse_json(value, dict if atype == "M" else list, atype)
        return json_to_ddb(nesting_checked(doc))
    if atype == "NULL":
        return {"NULL": True}
    if atype == "SS":
        ss: set[str] = set()
        for m in _set_members(value):
            if m is None:
                continue
            if isinstance(m, dict | list):
                raise Reject("bad_set", f"a string set member must be a scalar, got {_short(m)}")
            ss.add(str(m) if isinstance(m, JsonNumber) else mysql_text(m))
        return {"SS": sorted(ss)} if ss else None
    if atype == "NS":
        ns: set[str] = set()
        for m in _set_members(value):
            if m is None:
                continue
            if isinstance(m, bool | dict | list):
                raise Reject("bad_set", f"a number set member must be a number, got {_short(m)}")
            try:
                ns.add(number_text(str(m) if isinstance(m, JsonNumber) else m))
            except Reject as exc:
                raise Reject("bad_set", f"number set member: {exc.reason}") from None
        return {"NS": sorted(ns)} if ns else None
    if atype == "BS":
        bs: set[bytes] = set()
        if isinstance(value, bytes | bytearray) and not bytes(value).lstrip().startswith(b"["):
            members: list[Any] = [bytes(value)]
        else:
            members = _set_members(value)
        for m in members:
            if m is None:
                continue
            if isinstance(m, bytes | bytearray):
                bs.add(bytes(m))
            elif isinstance(m, str):
                try:
                    bs.add(base64.b64decode(m, validate=True))
                except ValueError:
                    raise Reject(
                        "bad_set", f"a binary set member in text must be base64, got {_short(m)}"
                    ) from None
            else:
                raise Reject("bad_set", f"a binary set member must be bytes, got {_short(m)}")
        return {"BS": sorted(bs)} if bs else None
    raise Reject("bad_type", f"unknown DynamoDB type {atype!r}")


# -- size --------------------------------------------------------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def value_size(v: DdbValue) -> int:
    ((t, x),) = v.items()
    if t == "S":
        return len(x.encode("utf-8"))
    if t == "N":
        return _number_size(x)
    if t == "B":
        return len(x)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(e) + 1 for k, e in x.items())
    if t == "L":
        return 3 + sum(value_size(e) + 1 for e in x)
    if t == "SS":
        return sum(len(s.encode("utf-8")) for s in x)
    if t == "NS":
        return sum(_number_size(s) for s in x)
    if t == "BS":
        return sum(len(b) for b in x)
    raise ValueError(f"unknown DynamoDB type {t!r}")


def item_size(item: Item) -> int:
    """DynamoDB's size of an item: UTF-8 names plus values (M/L: 3 bytes plus 1 per element)."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())
