"""Comparing an evaluator item with an item read from DynamoDB (or encoded from a view row).

Canonical forms, so that equal values compare equal whatever their spelling:

* N (also inside M/L and NS): numerically exact, through :class:`decimal.Decimal` (``1.50`` == ``1.5``),
  never through a float;
* SS/NS/BS: as sets (DynamoDB does not keep set order);
* B: bytes (boto3's ``Binary`` and base64 text are accepted);
* S attributes the contract builds as JSON text (a json-construction of type S): compared as JSON
  documents (numbers exact), since the server's JSON layout (spaces, key order on MySQL) is not part of
  the contract.

The migration marker (``_dm_marker``) and any ``ignore`` attributes are left out.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from dynamigrate.contract.model import Entity
from dynamigrate.evaluate.values import JsonNumber, Reject, parse_json

MARKER = "_dm_marker"


@dataclass(frozen=True)
class Difference:
    attribute: str
    kind: str  # changed | missing_attribute | unexpected_attribute
    expected: Any = None
    actual: Any = None


def json_text_attributes(entity: Entity) -> frozenset[str]:
    """Names of the S attributes whose value is JSON text built by a json-construction."""
    return frozenset(
        a.name
        for a in entity.attributes
        if a.type == "S" and a.join is not None and a.join.type == "json-construction"
    )


def _num(text: Any) -> Any:
    try:
        return ("N", Decimal(str(text)).normalize())
    except InvalidOperation:
        return ("N?", str(text))


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if hasattr(value, "value"):  # boto3.dynamodb.types.Binary
        return bytes(value.value)
    if isinstance(value, str):
        return base64.b64decode(value)
    return bytes(value)


def canonical(value: Mapping[str, Any]) -> Any:
    """A low-level DynamoDB value in a form where equal values are equal Python objects."""
    ((t, x),) = value.items()
    if t == "N":
        return _num(x)
    if t == "NS":
        return ("NS", frozenset(_num(v) for v in x))
    if t == "SS":
        return ("SS", frozenset(x))
    if t == "BS":
        return ("BS", frozenset(_bytes(v) for v in x))
    if t == "B":
        return ("B", _bytes(x))
    if t == "M":
        return ("M", {k: canonical(v) for k, v in x.items()})
    if t == "L":
        return ("L", [canonical(v) for v in x])
    if t == "NULL":
        return ("NULL", True)
    return (t, x)


def _json_canonical(doc: Any) -> Any:
    if isinstance(doc, JsonNumber):
        return _num(doc)
    if isinstance(doc, dict):
        return {k: _json_canonical(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_json_canonical(v) for v in doc]
    return doc


def values_equal(expected: Mapping[str, Any], actual: Mapping[str, Any], json_text: bool = False) -> bool:
    if json_text and "S" in expected and "S" in actual:
        try:
            return _json_canonical(parse_json(expected["S"])) == _json_canonical(parse_json(actual["S"]))
        except Reject:
            return expected == actual
    return canonical(expected) == canonical(actual)


def compare_items(
    expected: Mapping[str, Mapping[str, Any]],
    actual: Mapping[str, Mapping[str, Any]],
    json_text_attrs: Iterable[str] = (),
    ignore: Iterable[str] = (MARKER,),
) -> list[Difference]:
    """Attribute-by-attribute differences between two low-level items (empty list: equal)."""
    skip = set(ignore)
    as_json = set(json_text_attrs)
    out: list[Difference] = []
    for name in sorted(set(expected) | set(actual)):
        if name in skip:
            continue
        if name not in actual:
            out.append(Difference(name, "missing_attribute", expected[name], None))
        elif name not in expected:
            out.append(Difference(name, "unexpected_attribute", None, actual[name]))
        elif not values_equal(expected[name], actual[name], name in as_json):
            out.append(Difference(name, "changed", expected[name], actual[name]))
    return out
