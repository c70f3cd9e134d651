"""Attribute-by-attribute comparison of low-level DynamoDB items (pure, no I/O).

Both sides are brought to one canonical form before comparing: numbers normalised exactly the way
DynamoDB stores them (``1.50`` == ``1.5``), set members sorted (DynamoDB keeps no order), binary as
``bytes``. A difference names the attribute and carries both values in low-level form, JSON-safe
(binary as base64 text), so it can go straight into validation.json.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dynamigrate.target.encode import EncodeReject, normalize_number
from dynamigrate.target.wire import orjson as _orjson

DdbValue = dict[str, Any]

#: Kinds of value difference
MISSING_ATTRIBUTE = "missing_attribute"  # the source says it should be there, DynamoDB has none
UNEXPECTED_ATTRIBUTE = "unexpected_attribute"  # DynamoDB has it, the source row does not produce it
CHANGED = "changed"  # both have it, values differ


def canonical_value(v: DdbValue) -> DdbValue:
    """A low-level value in canonical form (numbers normalised, sets sorted, binary as bytes)."""
    ((t, x),) = v.items()
    if t == "N":
        return {"N": _num(x)}
    if t == "NS":
        return {"NS": sorted({_num(s) for s in x})}
    if t == "SS":
        return {"SS": sorted(set(x))}
    if t == "BS":
        return {"BS": sorted({bytes(b) for b in x})}
    if t == "B":
        return {"B": bytes(x)}
    if t == "M":
        return {"M": {k: canonical_value(e) for k, e in x.items()}}
    if t == "L":
        return {"L": [canonical_value(e) for e in x]}
    return {t: x}


def _num(text: str) -> str:
    try:
        return normalize_number(text)
    except EncodeReject:
        return str(text)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    return str(obj)


def json_safe(value: Any) -> Any:
    """A low-level value/item/key with binary as base64 text (for JSON files)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def key_string(key: Mapping[str, DdbValue]) -> str:
    """Canonical text of a low-level key (sorted names, canonical values): equal keys, equal text.

    orjson writes the same text as ``json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` (tests/unit/test_validate_compare.py), ~10x faster; what it refuses (a lone
    surrogate, an integer beyond 64 bits) goes to json.dumps."""
    return _canonical_text({k: canonical_value(v) for k, v in key.items()})


def _canonical_text(canon: Mapping[str, Any]) -> str:
    if _orjson is not None:
        try:
            return _orjson.dumps(canon, option=_orjson.OPT_SORT_KEYS, default=_json_default).decode("utf-8")
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return json.dumps(canon, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def plain(value: Any) -> Any:
    """A low-level value as plain JSON-able Python, for people (N as text, sets as lists)."""
    if value is None:
        return None
    ((t, x),) = value.items()
    if t in ("S", "N", "BOOL"):
        return x
    if t == "NULL":
        return None
    if t == "B":
        return "b64:" + (x if isinstance(x, str) else base64.b64encode(bytes(x)).decode("ascii"))
    if t in ("SS", "NS"):
        return list(x)
    if t == "BS":
        return ["b64:" + (b if isinstance(b, str) else base64.b64encode(bytes(b)).decode("ascii")) for b in x]
    if t == "M":
        return {k: plain(e) for k, e in x.items()}
    if t == "L":
        return [plain(e) for e in x]
    return x


def plain_key(key: Mapping[str, DdbValue]) -> dict[str, Any]:
    return {k: plain(v) for k, v in key.items()}


def short_text(value: Any, limit: int = 80) -> str:
    text = json.dumps(plain(json_safe(value)) if isinstance(value, dict) else value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class AttributeDiff:
    attribute: str
    kind: str
    expected: DdbValue | None
    actual: DdbValue | None


def json_text_attributes(entity: Any) -> frozenset[str]:
    """Names of an entity's S attributes that hold JSON text built by a json-construction: their
    layout (spaces, key order) is the server's, not the contract's, so they compare as documents."""
    return frozenset(
        a.name
        for a in entity.attributes
        if a.type == "S" and a.join is not None and a.join.type == "json-construction"
    )


def _json_document(value: DdbValue) -> Any:
    from decimal import Decimal

    text = value.get("S")
    if not isinstance(text, str):
        return value
    try:
        return ("json", json.loads(text, parse_float=Decimal, parse_int=Decimal))
    except ValueError:
        return value


def compare_items(
    expected: Mapping[str, DdbValue],
    actual: Mapping[str, DdbValue],
    ignore: Iterable[str] = (),
    json_text: Iterable[str] = (),
) -> list[AttributeDiff]:
    """Differences between the contract's item and the item in DynamoDB (or the view's item).

    ``ignore`` names attributes that are not data (the marker, a version attribute); ``json_text``
    names S attributes compared as JSON documents (:func:`json_text_attributes`). The result is in
    attribute-name order, so it is stable for tests and reports.
    """
    skip = set(ignore)
    as_json = set(json_text)
    out: list[AttributeDiff] = []
    for name in sorted(set(expected) | set(actual)):
        if name in skip:
            continue
        e = expected.get(name)
        a = actual.get(name)
        if e is None and a is None:
            continue
        if a is None:
            out.append(AttributeDiff(name, MISSING_ATTRIBUTE, e, None))
        elif e is None:
            out.append(AttributeDiff(name, UNEXPECTED_ATTRIBUTE, None, a))
        elif name in as_json and "S" in e and "S" in a:
            if _json_document(e) != _json_document(a):
                out.append(AttributeDiff(name, CHANGED, e, a))
        elif canonical_value(e) != canonical_value(a):
            out.append(AttributeDiff(name, CHANGED, e, a))
    return out


def projected_names(
    projection: Mapping[str, Any], key_names: Iterable[str], item: Mapping[str, Any]
) -> list[str]:
    """The attributes of ``item`` a GSI with ``projection`` (DescribeTable form) holds."""
    ptype = projection.get("ProjectionType", "ALL")
    keys = list(dict.fromkeys(key_names))
    if ptype == "ALL":
        return sorted(item)
    names = set(keys)
    if ptype == "INCLUDE":
        names.update(projection.get("NonKeyAttributes") or ())
    return sorted(n for n in names if n in item)


def _canonical_document(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return {"#n": str(value.normalize())}
    if isinstance(value, dict):
        return {k: _canonical_document(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_document(v) for v in value]
    return value


def item_digest(
    item: Mapping[str, DdbValue], ignore: Iterable[str] = (), json_text: Iterable[str] = ()
) -> str:
    """A short digest of an item's canonical form: equal exactly when :func:`compare_items` finds no
    difference (same ``ignore`` and ``json_text``), so items can be compared through a key set."""
    import hashlib

    skip, as_json = set(ignore), set(json_text)
    canon: dict[str, Any] = {}
    for name, value in item.items():
        if name in skip:
            continue
        doc = _json_document(value) if name in as_json and "S" in value else None
        if isinstance(doc, tuple):
            canon[name] = {"json": _canonical_document(doc[1])}
        else:
            canon[name] = canonical_value(value)
    # the key text's writer (orjson, ~10x faster than json.dumps; the same text): a digest costs about
    # half of what it did, and --full digests every item twice (view and contract)
    return hashlib.blake2b(_canonical_text(canon).encode("utf-8"), digest_size=16).hexdigest()
