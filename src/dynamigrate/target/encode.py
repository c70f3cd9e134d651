"""Turn view rows into DynamoDB items (low-level JSON), by the contract's attribute types.

Pure and fast: it runs once per row, so everything that depends only on the table (which converter
each attribute needs, whether it is a table key or a GSI key, the UTF-8 size of its name) is computed
once in :class:`ItemEncoder`'s constructor.

Public API (used by the local engine, the Spark job and the writers; keep it stable)::

    enc = ItemEncoder(table, marker_attribute="_dm_marker")
    e = enc.encode(row)          # never raises for bad data
    e.item                       # {"PK": {"S": "x"}, ...} without the marker (None when rejected)
    e.key                        # low-level key dict (best effort when rejected)
    e.fingerprint                # 16 hex chars, see fingerprint()
    e.reject_code, e.reject_reason   # set when the row must go to rejected.jsonl
    e.omitted_gsi_keys           # GSI key attributes left out because they were empty
    e.size                       # DynamoDB item size in bytes (without the marker)
    e.entity, e.rowid, e.row     # _dm_entity, _dm_rowid, the row itself (for rejected rows)
    marker_value(run_id, fp)     # "<run_id>:<fp>"
    fingerprint(item)            # content fingerprint of a low-level item (marker excluded)
    item_size(item)              # DynamoDB size rules
    to_python(item) / from_python(obj)   # convenience for tests and reports

Wire format of view values (identical for every engine): S text (numbers and dates as text), N exact
decimal text, BOOL a number/text/BIT bytes, M and L JSON text, SS/NS/BS a JSON array text (or
comma-separated text), B bytes, SQL NULL -> attribute absent.

Rules (docs/contract-format.md, "Values in DynamoDB"):

* SQL NULL: the attribute is left out. A NULL table key -> rejected (``null_key``).
* Empty string / empty binary: kept in ordinary attributes; in a table key -> rejected
  (``empty_key``); in a GSI key -> left out (the item is simply not in that index) and reported in
  ``omitted_gsi_keys``.
* N: never through a float. The text is validated and normalised exactly the way DynamoDB stores it
  (``1E+3`` -> ``1000``, ``1.50`` -> ``1.5``, ``-0.00`` -> ``0``), so that the fingerprint of what we send
  equals the fingerprint of what a later read returns. More than 38 significant digits or a
  magnitude outside 1E-130..9.99E+125 -> ``bad_number`` (DynamoDB would refuse it).
* M / L: JSON text parsed with numbers kept as exact text (-> N, normalised), nested objects -> M,
  arrays -> L, true/false -> BOOL, null -> NULL. Not JSON, wrong top-level kind, NaN/Infinity or an
  empty map key -> ``bad_json``.
* BOOL: 0 / '0' / 'false' / 'no' / 'off' / 'f' / 'n' / b'\\x00' -> false; non-zero numbers, 'true',
  'yes', 'on', 't', 'y', non-zero BIT bytes -> true; other text -> ``bad_bool``.
* Sets: members deduplicated (NS after normalisation, since DynamoDB refuses duplicates) and sorted
  (canonical order, DynamoDB does not keep set order); an empty set is left out (DynamoDB has no empty
  set) and named in ``Encoded.empty_sets`` (the engine counts it per attribute); a member that is not of the set's type -> ``bad_set``.
* B: bytes as they come; text is encoded as UTF-8; other values -> ``bad_binary``.
* Item larger than 400 KB (marker included) -> ``too_large``.

The fingerprint is the first 16 hex characters of sha256 over the canonical JSON of the item without
the marker (keys sorted, separators ``,`` ``:``, UTF-8, binary as base64, set members sorted). Because
numbers are normalised like DynamoDB does, ``fingerprint(get_item(...)["Item"] minus marker)`` equals
the fingerprint the encoder computed for the item when nobody changed it since.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any, cast

try:
    import orjson
except ImportError:  # e.g. a Glue job given only the package zip: the json paths (same bytes, slower)
    orjson = None  # type: ignore[assignment]

from dynamigrate.contract.model import ENTITY_COLUMN, HELPER_PREFIX, ROWID_COLUMN, Table

#: DynamoDB's maximum item size (bytes), marker included.
MAX_ITEM_BYTES = 400 * 1024
#: Bytes we reserve for the marker value when checking the size limit (run id + ':' + 16 hex).
MARKER_VALUE_BUDGET = 64

REJECT_CODES = (
    "null_key",
    "empty_key",
    "key_too_long",
    "too_large",
    "bad_number",
    "bad_json",
    "bad_bool",
    "bad_binary",
    "bad_set",
    "bad_string",
    "missing_version",
)

DdbValue = dict[str, Any]
Item = dict[str, DdbValue]


class EncodeReject(ValueError):
    """Raised by a converter; turned into ``Encoded.reject_*`` by the encoder (never escapes encode)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Encoded:
    """One row turned into an item, or the reason it cannot be one."""

    item: Item | None
    key: Item
    fingerprint: str | None = None
    reject_reason: str | None = None
    reject_code: str | None = None
    omitted_gsi_keys: tuple[str, ...] = ()
    #: set attributes left out because the set was empty (DynamoDB has no empty set): counted, reported
    empty_sets: tuple[str, ...] = ()
    size: int = 0
    entity: str | None = None
    rowid: Any = None
    row: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.reject_code is None

    @property
    def rejected(self) -> bool:
        return self.reject_code is not None


# -- numbers ---------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
# text that already is DynamoDB's canonical form (what normalize_number would return): an integer
# without leading zeros, or a decimal without leading zeros in its integer part and without
# trailing zeros in its fraction; the view's N text (CAST(... AS CHAR)) is mostly this shape and is
# then sent as it is, without a Decimal round trip. Length limits keep it within 38 significant
# digits and DynamoDB's range (checked by normalize_number otherwise).
_CANONICAL_INT_RE = re.compile(r"-?[1-9][0-9]{0,37}")
_CANONICAL_DEC_RE = re.compile(r"-?(?:[1-9][0-9]*|0)\.[0-9]*[1-9]")
_MIN_MAG = Decimal("1E-130")
_MAX_MAG = Decimal("1E126")
# normalising must never round: the default context keeps only 28 digits
_EXACT = Context(prec=1000, Emax=999999, Emin=-999999)


def normalize_number(value: Any) -> str:
    """Exact DynamoDB number text for ``value`` (text, int or Decimal), as DynamoDB stores it.

    Raises :class:`EncodeReject` (``bad_number``) for anything that is not a finite decimal number
    within DynamoDB's limits. Floats are refused on purpose: they are not exact.
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        text = str(value)
        if len(text.lstrip("-").rstrip("0")) > 38 or len(text.lstrip("-")) > 126:
            _check_limits(Decimal(value), text)
        return text
    if isinstance(value, str) and (
        _CANONICAL_INT_RE.fullmatch(value)
        or (_CANONICAL_DEC_RE.fullmatch(value) and _canonical_decimal_fits(value))
    ):
        return value
    if isinstance(value, Decimal):
        dec = value
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER_RE.match(text):
            raise EncodeReject("bad_number", f"{_short(value)} is not a decimal number")
        dec = Decimal(text)
    elif isinstance(value, bytes | bytearray):
        try:
            return normalize_number(bytes(value).decode("ascii"))
        except UnicodeDecodeError:
            raise EncodeReject("bad_number", f"{_short(value)} is not a decimal number") from None
    elif isinstance(value, float):
        raise EncodeReject(
            "bad_number",
            f"got the float {value!r}; numbers must arrive as exact decimal text (CAST(... AS CHAR))",
        )
    else:
        raise EncodeReject("bad_number", f"{_short(value)} ({type(value).__name__}) is not a number")
    if not dec.is_finite():
        raise EncodeReject("bad_number", f"{text} is not a finite number")
    if dec.is_zero():
        return "0"
    _check_limits(dec, text)
    out = format(dec.normalize(_EXACT), "f")
    return out


def _canonical_decimal_fits(text: str) -> bool:
    """A canonical decimal text within 38 significant digits and DynamoDB's smallest magnitude."""
    whole, _, frac = text.lstrip("-").partition(".")
    if whole != "0":
        return len(whole) + len(frac) <= 38
    digits = frac.lstrip("0")
    return len(digits) <= 38 and len(frac) <= 130


def _check_limits(dec: Decimal, text: str) -> None:
    norm = dec.normalize(_EXACT)
    if norm.is_zero():
        return
    digits = len(norm.as_tuple().digits)
    if digits > 38:
        raise EncodeReject(
            "bad_number",
            f"{_short(text)} has {digits} significant digits; DynamoDB keeps at most 38",
        )
    mag = abs(norm)
    if mag < _MIN_MAG or mag >= _MAX_MAG:
        raise EncodeReject(
            "bad_number", f"{_short(text)} is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)"
        )


def _number_size(text: str) -> int:
    """DynamoDB's size of a number: 1 byte per two significant digits, plus 1."""
    digits = text.lstrip("-").replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


# -- JSON with exact numbers -----------------------------------------------------------------------


class _NumText(str):
    """A JSON number kept as its source text (never a float)."""

    __slots__ = ()


def _bad_constant(name: str) -> Any:
    raise EncodeReject("bad_json", f"JSON constant {name} is not allowed (not a finite number)")


def parse_json_exact(text: str | bytes) -> Any:
    """``json.loads`` with every number kept as its exact text (a ``str`` subclass)."""
    return json.loads(text, parse_float=_NumText, parse_int=_NumText, parse_constant=_bad_constant)


def from_json_value(value: Any) -> DdbValue:
    """A decoded JSON value (from :func:`parse_json_exact` or plain Python) as a DynamoDB value."""
    if value is None:
        return {"NULL": True}
    if value is True or value is False:
        return {"BOOL": value}
    if isinstance(value, _NumText):
        return {"N": normalize_number(str(value))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": normalize_number(value)}
    if isinstance(value, float):
        # only reachable for plain-Python input (parse_json_exact never yields floats)
        return {"N": normalize_number(repr(value))}
    if isinstance(value, dict):
        out: dict[str, DdbValue] = {}
        for k, v in value.items():
            if not isinstance(k, str) or k == "":
                raise EncodeReject(
                    "bad_json", "a JSON object has an empty key; DynamoDB map keys must not be empty"
                )
            out[k] = from_json_value(v)
        return {"M": out}
    if isinstance(value, list | tuple):
        return {"L": [from_json_value(v) for v in value]}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    raise EncodeReject("bad_json", f"cannot represent {type(value).__name__} in a JSON document")


def _load_json(value: Any, want: type, type_name: str) -> Any:
    if isinstance(value, want):
        return value  # already decoded (e.g. by a driver that parses JSON columns)
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise EncodeReject("bad_json", "the JSON text is not valid UTF-8") from None
    if not isinstance(value, str):
        raise EncodeReject("bad_json", f"expected JSON text for a {type_name}, got {type(value).__name__}")
    try:
        doc = parse_json_exact(value)
    except json.JSONDecodeError as exc:
        raise EncodeReject(
            "bad_json", f"not valid JSON ({exc.msg} at position {exc.pos}): {_short(value)}"
        ) from None
    if not isinstance(doc, want):
        kind = "an object" if want is dict else "an array"
        raise EncodeReject("bad_json", f"a {type_name} attribute needs {kind}, got {_short(value)}")
    return doc


# -- converters: wire value -> DynamoDB value (None value is handled before) -------------------------


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise EncodeReject(
                "bad_string", f"binary value {_short(bytes(value))} is not UTF-8 text; use type B"
            ) from None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return _timedelta_text(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return str(value)


def _timedelta_text(td: _dt.timedelta) -> str:
    """A MySQL TIME value as MySQL prints it ([-]H:MM:SS[.ffffff])."""
    # a negative timedelta keeps positive seconds and microseconds (-1.5 s is days=-1, 86398 s,
    # 500000 us): split the absolute number of microseconds, not the fields
    micros = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    sign = "-" if micros < 0 else ""
    total, frac = divmod(abs(micros), 1_000_000)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    text = f"{sign}{h:02d}:{m:02d}:{s:02d}"
    if frac:
        text += f".{frac:06d}"
    return text


def _conv_s(value: Any) -> DdbValue:
    return {"S": _to_text(value)}


def _conv_n(value: Any) -> DdbValue:
    return {"N": normalize_number(value)}


def _conv_b(value: Any) -> DdbValue:
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, bytearray | memoryview):
        return {"B": bytes(value)}
    if isinstance(value, str):
        return {"B": value.encode("utf-8")}
    raise EncodeReject("bad_binary", f"expected bytes for a B attribute, got {type(value).__name__}")


_FALSE_TEXT = frozenset({"0", "false", "f", "no", "n", "off"})
_TRUE_TEXT = frozenset({"1", "true", "t", "yes", "y", "on"})


def _conv_bool(value: Any) -> DdbValue:
    if value is True or value is False:
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"BOOL": value != 0}
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        # BIT(n) columns arrive as bytes; text columns may arrive as bytes too
        if raw and all(b in (0, 1) for b in raw) and len(raw) <= 8:
            return {"BOOL": any(raw)}
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EncodeReject("bad_bool", f"{_short(raw)} is not a boolean") from None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _FALSE_TEXT:
            return {"BOOL": False}
        if text in _TRUE_TEXT:
            return {"BOOL": True}
        if _NUMBER_RE.match(text):
            return {"BOOL": Decimal(text) != 0}
        raise EncodeReject("bad_bool", f"{_short(value)} is not a boolean (use 0/1 or true/false)")
    raise EncodeReject("bad_bool", f"{_short(value)} ({type(value).__name__}) is not a boolean")


def _conv_m(value: Any) -> DdbValue:
    return _nested_at_most(from_json_value(_load_json(value, dict, "M")))


def _conv_l(value: Any) -> DdbValue:
    return _nested_at_most(from_json_value(_load_json(value, list, "L")))


#: DynamoDB's key value limits (UTF-8 / binary bytes): partition keys 2048, sort keys 1024, of the
#: table and of every GSI (DynamoDB Local: 2048 and 1024 written, one byte more refused)
PARTITION_KEY_BYTES, SORT_KEY_BYTES = 2048, 1024


def key_limits(table: Table) -> dict[str, int]:
    """Byte limit per key attribute of ``table`` (table and GSI keys; the smallest where one name is both)."""
    limits: dict[str, int] = {}

    def put(name: str | None, limit: int) -> None:
        if name:
            limits[name] = min(limit, limits.get(name, limit))

    put(table.pk, PARTITION_KEY_BYTES)
    put(table.sk, SORT_KEY_BYTES)
    for gsi in table.gsis:
        put(gsi.pk, PARTITION_KEY_BYTES)
        put(gsi.sk, SORT_KEY_BYTES)
    return limits


def _key_too_long(name: str, v: DdbValue, limit: int) -> str | None:
    ((t, x),) = v.items()
    n = len(x.encode("utf-8")) if t == "S" else len(x) if t == "B" else 0
    if n <= limit:
        return None
    kind = "partition" if limit == PARTITION_KEY_BYTES else "sort"
    return f"key attribute '{name}' is {n} bytes; DynamoDB allows {limit} for a {kind} key"


#: DynamoDB nests 32 levels, the item itself the first: an attribute's value holds at most 31 levels of
#: maps and lists (measured on DynamoDB Local: 31 nested objects are written, 32 refused)
MAX_NESTING = 31


def _nested_at_most(v: DdbValue) -> DdbValue:
    """``v`` when its maps/lists nest at most MAX_NESTING levels, else a reject (never a write that
    DynamoDB refuses with a ValidationException)."""
    depth, level = 0, [v]
    while level:
        depth += 1
        nxt: list[Any] = []
        for x in level:
            ((t, inner),) = x.items()
            nxt.extend(inner.values() if t == "M" else inner)
        level = [x for x in nxt if next(iter(x)) in ("M", "L")]
    if depth > MAX_NESTING:
        raise EncodeReject(
            "bad_json",
            f"the document nests {depth} levels of objects/arrays; DynamoDB allows {MAX_NESTING} in an "
            "attribute (32 counting the item)",
        )
    return v


def _conv_null(value: Any) -> DdbValue:
    return {"NULL": True}


def _set_members(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise EncodeReject("bad_set", "set text is not valid UTF-8") from None
    if not isinstance(value, str):
        raise EncodeReject("bad_set", f"expected a JSON array text for a set, got {type(value).__name__}")
    text = value.strip()
    if text == "":
        return []
    if text.startswith("["):
        try:
            doc = parse_json_exact(text)
        except (json.JSONDecodeError, EncodeReject):
            raise EncodeReject("bad_set", f"set text is not a valid JSON array: {_short(value)}") from None
        if not isinstance(doc, list):
            raise EncodeReject("bad_set", f"set text is not a JSON array: {_short(value)}")
        return doc
    return [part.strip() for part in text.split(",")]


def _conv_ss(value: Any) -> DdbValue | None:
    members: set[str] = set()
    for m in _set_members(value):
        if m is None:
            continue
        if isinstance(m, dict | list):
            raise EncodeReject("bad_set", f"a string set member must be a scalar, got {_short(m)}")
        members.add(str(m) if isinstance(m, _NumText) else _to_text(m))
    return {"SS": sorted(members)} if members else None


def _conv_ns(value: Any) -> DdbValue | None:
    members: set[str] = set()
    for m in _set_members(value):
        if m is None:
            continue
        if isinstance(m, bool | dict | list):
            raise EncodeReject("bad_set", f"a number set member must be a number, got {_short(m)}")
        try:
            members.add(normalize_number(str(m) if isinstance(m, _NumText) else m))
        except EncodeReject as exc:
            raise EncodeReject("bad_set", f"number set member: {exc.message}") from None
    return {"NS": sorted(members)} if members else None


def _conv_bs(value: Any) -> DdbValue | None:
    members: set[bytes] = set()
    raw_members = (
        [value]
        if isinstance(value, bytes | bytearray) and not bytes(value).lstrip().startswith(b"[")
        else _set_members(value)
    )
    for m in raw_members:
        if m is None:
            continue
        if isinstance(m, bytes | bytearray):
            members.add(bytes(m))
        elif isinstance(m, str):
            try:
                members.add(base64.b64decode(m, validate=True))
            except ValueError:
                raise EncodeReject(
                    "bad_set", f"a binary set member in text must be base64, got {_short(m)}"
                ) from None
        else:
            raise EncodeReject("bad_set", f"a binary set member must be bytes, got {_short(m)}")
    return {"BS": sorted(members)} if members else None


CONVERTERS: dict[str, Callable[[Any], DdbValue | None]] = {
    "S": _conv_s,
    "N": _conv_n,
    "B": _conv_b,
    "BOOL": _conv_bool,
    "M": _conv_m,
    "L": _conv_l,
    "SS": _conv_ss,
    "NS": _conv_ns,
    "BS": _conv_bs,
    "NULL": _conv_null,
}


# -- size and fingerprint ----------------------------------------------------------------------------


def _value_size(v: DdbValue) -> int:
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
        return 3 + sum(len(k.encode("utf-8")) + _value_size(e) + 1 for k, e in x.items())
    if t == "L":
        return 3 + sum(_value_size(e) + 1 for e in x)
    if t == "SS":
        return sum(len(s.encode("utf-8")) for s in x)
    if t == "NS":
        return sum(_number_size(s) for s in x)
    if t == "BS":
        return sum(len(b) for b in x)
    raise ValueError(f"unknown DynamoDB type {t!r}")


def item_size(item: Mapping[str, DdbValue]) -> int:
    """Size of a low-level item by DynamoDB's rules (names + values; M/L 3 bytes + 1 per element)."""
    return sum(len(name.encode("utf-8")) + _value_size(v) for name, v in item.items())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"not serialisable: {type(obj).__name__}")


def _canonical(v: DdbValue) -> DdbValue:
    ((t, x),) = v.items()
    if t in ("SS", "NS"):
        return {t: sorted(x)}
    if t == "BS":
        return {t: sorted(bytes(b) for b in x)}
    if t == "M":
        return {"M": {k: _canonical(e) for k, e in x.items()}}
    if t == "L":
        return {"L": [_canonical(e) for e in x]}
    return v


def _digest(item: Mapping[str, Any]) -> str:
    if orjson is None:
        return hashlib.sha256(_digest_text(item).encode("utf-8")).hexdigest()[:16]
    try:
        # the same bytes as the json.dumps below (sorted keys, no spaces, UTF-8, binary as base64),
        # 3x faster; anything orjson refuses (nesting past 254 levels...) takes the json path
        data = orjson.dumps(item, option=orjson.OPT_SORT_KEYS, default=_json_default)
    except (orjson.JSONEncodeError, TypeError):
        data = _digest_text(item).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def _digest_text(item: Mapping[str, Any]) -> str:
    """The canonical JSON text fingerprints were defined with (the reference for :func:`_digest`)."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def fingerprint(item: Mapping[str, DdbValue], marker_attribute: str | None = None) -> str:
    """16-hex content fingerprint of a low-level item; ``marker_attribute`` (if present) is ignored.

    Works on items read back from DynamoDB (sets in any order, binary as bytes).
    """
    canon = {k: _canonical(v) for k, v in item.items() if k != marker_attribute}
    return _digest(canon)


def marker_value(run_id: str, fp: str) -> str:
    return f"{run_id}:{fp}"


def parse_marker(value: Any) -> tuple[str, str] | None:
    """``(run_id, fingerprint)`` from a marker attribute value (low-level ``{"S": ...}`` or text)."""
    if isinstance(value, dict):
        value = value.get("S")
    if not isinstance(value, str) or ":" not in value:
        return None
    run_id, _, fp = value.rpartition(":")
    return run_id, fp


# -- python <-> low-level helpers (tests, reports) ----------------------------------------------------


def to_python(item: Mapping[str, DdbValue]) -> dict[str, Any]:
    """A low-level item as plain Python (N -> Decimal, sets -> sorted lists, B -> bytes)."""
    return {k: _to_py(v) for k, v in item.items()}


def _to_py(v: DdbValue) -> Any:
    ((t, x),) = v.items()
    if t == "N":
        return Decimal(x)
    if t == "NS":
        return sorted(Decimal(s) for s in x)
    if t in ("SS", "BS"):
        return sorted(x)
    if t == "M":
        return {k: _to_py(e) for k, e in x.items()}
    if t == "L":
        return [_to_py(e) for e in x]
    if t == "NULL":
        return None
    return x


def from_python(obj: Mapping[str, Any]) -> Item:
    """Plain Python (str, int, Decimal, bool, None, bytes, dict, list, set) as a low-level item."""
    return {k: _from_py(v) for k, v in obj.items()}


def _from_py(v: Any) -> DdbValue:
    if isinstance(v, set | frozenset):
        if all(isinstance(m, bytes) for m in v):
            return {"BS": sorted(v)}
        if all(isinstance(m, int | Decimal) and not isinstance(m, bool) for m in v):
            return {"NS": sorted(normalize_number(m) for m in v)}
        return {"SS": sorted(str(m) for m in v)}
    if isinstance(v, dict):
        return {"M": {k: _from_py(e) for k, e in v.items()}}
    if isinstance(v, list | tuple):
        return {"L": [_from_py(e) for e in v]}
    return from_json_value(v)


# -- the encoder -----------------------------------------------------------------------------------

_ROLE_PLAIN, _ROLE_TABLE_KEY, _ROLE_GSI_KEY = 0, 1, 2
#: (attribute name, converter, role, DynamoDB type, UTF-8 length of the name, size function)
_PlanEntry = tuple[str, Callable[[Any], "DdbValue | None"], int, str, int, Callable[["DdbValue"], int]]


def _size_s(v: DdbValue) -> int:
    text = v["S"]
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _size_n(v: DdbValue) -> int:
    return _number_size(v["N"])


def _size_b(v: DdbValue) -> int:
    return len(v["B"])


def _size_one(v: DdbValue) -> int:
    return 1


_SIZERS: dict[str, Callable[[DdbValue], int]] = {
    "S": _size_s,
    "N": _size_n,
    "B": _size_b,
    "BOOL": _size_one,
    "NULL": _size_one,
}


def _is_empty(v: DdbValue) -> bool:
    x = next(iter(v.values()))
    return (isinstance(x, str | bytes)) and len(x) == 0


class ItemEncoder:
    """Encodes view rows of one contract table. Thread-safe (no mutable state after construction)."""

    def __init__(self, table: Table, marker_attribute: str | None = "_dm_marker"):
        self.table = table
        self.marker_attribute = marker_attribute
        key_names = table.key_names
        self._key_names = key_names
        self._gsi_keys = set(table.index_key_names) - set(key_names)
        table_types = table.attribute_types()
        self._plan = self._make_plan(table_types)
        # multi-entity tables: an attribute may have a different type in another entity; each row is
        # converted with the types of its own entity (``_dm_entity``), the table-level plan otherwise
        self._entity_plans: dict[str, tuple[_PlanEntry, ...]] = {}
        for entity in table.entities:
            own = {a.name: a.type for a in entity.attributes}
            if any(own[n] != table_types.get(n) for n in own):
                self._entity_plans[entity.entity_type] = self._make_plan({**table_types, **own})
        self._marker_overhead = (
            len(marker_attribute.encode("utf-8")) + MARKER_VALUE_BUDGET if marker_attribute else 0
        )
        self._key_limits = key_limits(table)

    def _make_plan(self, types: Mapping[str, str]) -> tuple[_PlanEntry, ...]:
        plan: list[_PlanEntry] = []
        names = [n for n in self.table.attribute_names if not n.startswith(HELPER_PREFIX)]
        # a key attribute that no entity produces is always missing: every row is rejected (null_key)
        names += [k for k in self._key_names if k not in names]
        for name in names:
            atype = types.get(name, "S")
            if name in self._key_names:
                role = _ROLE_TABLE_KEY
            elif name in self._gsi_keys:
                role = _ROLE_GSI_KEY
            else:
                role = _ROLE_PLAIN
            plan.append(
                (
                    name,
                    CONVERTERS.get(atype, _conv_s),
                    role,
                    atype,
                    len(name.encode("utf-8")),
                    _SIZERS.get(atype, _value_size),
                )
            )
        return tuple(plan)

    def encode(self, row: Mapping[str, Any]) -> Encoded:
        item: Item = {}
        size = 0
        omitted: list[str] = []
        empty_sets: tuple[str, ...] = ()
        entity = row.get(ENTITY_COLUMN)
        rowid = row.get(ROWID_COLUMN)
        plan = self._entity_plans.get(str(entity), self._plan) if self._entity_plans else self._plan
        for name, conv, role, atype, name_len, sizer in plan:
            value = row.get(name)
            if value is None:
                if role == _ROLE_TABLE_KEY:
                    return self._reject(
                        row, item, entity, rowid, "null_key", f"key attribute '{name}' is NULL"
                    )
                continue
            try:
                dv = conv(value)
            except EncodeReject as exc:
                if role == _ROLE_GSI_KEY and isinstance(value, str | bytes) and len(value) == 0:
                    omitted.append(name)
                    continue
                if role == _ROLE_TABLE_KEY and isinstance(value, str | bytes) and len(value) == 0:
                    return self._reject(
                        row, item, entity, rowid, "empty_key", f"key attribute '{name}' is empty"
                    )
                return self._reject(
                    row, item, entity, rowid, exc.code, f"attribute '{name}' ({atype}): {exc.message}"
                )
            if dv is None:  # empty set: DynamoDB cannot store it, the attribute is left out (counted)
                empty_sets += (name,)
                continue
            if role and _is_empty(dv):
                if role == _ROLE_TABLE_KEY:
                    return self._reject(
                        row, item, entity, rowid, "empty_key", f"key attribute '{name}' is empty"
                    )
                omitted.append(name)
                continue
            if role and name in self._key_limits:
                long = _key_too_long(name, dv, self._key_limits[name])
                if long is not None:
                    return self._reject(row, item, entity, rowid, "key_too_long", long)
            item[name] = dv
            size += name_len + sizer(dv)
        key = {k: item[k] for k in self._key_names}
        if size + self._marker_overhead > MAX_ITEM_BYTES:
            return Encoded(
                item=None,
                key=key,
                reject_code="too_large",
                reject_reason=(
                    f"item is {size} bytes"
                    + (" plus the marker" if self._marker_overhead else "")
                    + f"; DynamoDB's limit is {MAX_ITEM_BYTES} bytes (400 KB)"
                ),
                omitted_gsi_keys=tuple(omitted),
                empty_sets=empty_sets,
                size=size,
                entity=entity,
                rowid=rowid,
                row=row,
            )
        return Encoded(
            item=item,
            key=key,
            fingerprint=_digest(item),  # already canonical: sets sorted at encode time
            omitted_gsi_keys=tuple(omitted),
            empty_sets=empty_sets,
            size=size,
            entity=entity,
            rowid=rowid,
            row=row,
        )

    def _reject(
        self, row: Mapping[str, Any], partial: Item, entity: Any, rowid: Any, code: str, reason: str
    ) -> Encoded:
        key: Item = {}
        for k in self._key_names:
            if k in partial:
                key[k] = partial[k]
            else:
                v = row.get(k)
                if v is not None:
                    key[k] = {"S": _safe_text(v)}
        return Encoded(
            item=None,
            key=key,
            reject_code=code,
            reject_reason=reason,
            entity=entity,
            rowid=rowid,
            row=row,
        )

    def encode_many(self, rows: list[Mapping[str, Any]]) -> list[Encoded]:
        enc = self.encode
        return [enc(r) for r in rows]


def _safe_text(v: Any) -> str:
    try:
        return _to_text(v)
    except EncodeReject:
        return repr(v)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def row_for_report(row: Mapping[str, Any] | None, limit: int = 2000) -> dict[str, Any] | None:
    """A row made JSON-safe for rejected.jsonl: bytes as base64 (``{"$b64": ...}``), long text cut."""
    if row is None:
        return None
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, bytes | bytearray | memoryview):
            raw = bytes(v)
            out[k] = {"$b64": base64.b64encode(raw[:limit]).decode("ascii"), "bytes": len(raw)}
        elif isinstance(v, str) and len(v) > limit:
            out[k] = v[:limit] + f"...[{len(v)} chars]"
        elif v is None or isinstance(v, str | int | float | bool):
            out[k] = v
        else:
            out[k] = _safe_text(v)
    return out


def key_for_report(key: Mapping[str, DdbValue]) -> dict[str, Any]:
    """A low-level key made JSON-safe (binary as base64)."""
    out: dict[str, Any] = {}
    for name, value in key.items():
        ((t, x),) = value.items()
        if isinstance(x, str):
            out[name] = {t: x}
        else:  # B (or anything else): the general path
            return cast("dict[str, Any]", json.loads(json.dumps(key, default=_json_default)))
    return out
