"""An in-memory DynamoDB for the writer's fast tests (tests/unit/test_writer_exact.py).

It implements the part of the low-level API that ``target/writer.py``, ``target/sinks.py`` and
``target/single_item.py`` use (PutItem, BatchWriteItem, BatchGetItem, TransactWriteItems, DeleteItem,
UpdateItem) with DynamoDB's documented behaviour, strictly:

* condition expressions: only the ones the writer is specified to send are understood
  (``attribute_not_exists(#pk)``, ``attribute_not_exists(#pk) OR #v < :v``, ``#m = :m``); anything
  else, an unused or missing placeholder, an unknown ``ReturnValues`` is a ValidationException, as
  DynamoDB answers a malformed request;
* a failed condition is ConditionalCheckFailedException, carrying the current item when
  ``ReturnValuesOnConditionCheckFailure=ALL_OLD``; a transaction with a failed condition is cancelled
  as a whole with one reason per item (``ConditionalCheckFailed`` or ``None``);
* limits: 25 requests per BatchWriteItem, 100 keys per BatchGetItem, 100 items per transaction, an
  item without its key attributes (or a ``Key`` with other attributes), a key of the wrong type
  (tables declared ``"PK:N"``), an empty string or binary key, an empty set or one with duplicates, a
  document nested 32 levels or deeper counting the top-level attribute as level 1 (31 wrappers
  around a scalar pass: DynamoDB's documented "up to 32 levels", measured the same on AWS, e.g. the
  dynoxide-rs emulator's ``tests/nesting_depth.rs`` "accepts 31 map-wraps, rejects 32");
* top-level numbers and number sets are held in DynamoDB's canonical form (``"01.50"`` is ``"1.5"``,
  ``"1e3"`` is ``"1000"``; numbers inside lists and maps as sent, as DynamoDB Local holds them) and
  compared by value (keys, ``#m = :m``, ``<``); sets compare as sets; ``<`` compares N, S or B values of
  the same type and is false across types (a ``:v`` of another type is a ValidationException);
* UpdateItem without a condition on a missing item creates it (its key alone for ``REMOVE``);
* an eventually consistent read may miss recent writes: this fake misses all of them (only
  ``ConsistentRead=True`` sees the table).

Its answers (items held, error codes and messages, cancellation reasons, images) are checked against
DynamoDB Local by ``tests/integration/test_fake_dynamodb_conformance.py``: the messages are DynamoDB
Local's (the real service words a few differently, e.g. a 26-request BatchWriteItem).

Faults are scripted per operation (:meth:`FakeDynamoDB.script`): the next calls of an operation answer
with an error, leave items or keys unprocessed, apply the write and then lose the answer, or run a
hook first (an application writing between the writer's read and its write). Tests assert outcomes:
the items held (:attr:`FakeDynamoDB.items`), the writer's counters, the sink's records.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from decimal import Context, Decimal
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, Any]

KNOWN_CONDITIONS = {
    "attribute_not_exists(#pk)": ({"#pk"}, set()),
    "attribute_not_exists(#pk) OR #v < :v": ({"#pk", "#v"}, {":v"}),
    "#m = :m": ({"#m"}, {":m"}),
}


def client_error(op: str, code: str, message: str = "", status: int = 400, **extra: Any) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message or code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    response.update(extra)
    return ClientError(response, op)  # type: ignore[arg-type]


def _invalid(op: str, message: str) -> ClientError:
    return client_error(op, "ValidationException", message)


def _depth(value: Any) -> int:
    """Levels of nesting below a value (a scalar: 0, ``{"L": [scalar]}``: 1)."""
    ((t, v),) = value.items()
    if t == "M":
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if t == "L":
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def canonical_number(text: str) -> str:
    """DynamoDB's form of a number: no exponent, no leading or trailing zeros, no sign on zero."""
    d = Decimal(text)
    if d == 0:
        return "0"
    return format(d.normalize(Context(prec=200)), "f")


def canonical(value: Any) -> Any:
    """An attribute value as DynamoDB Local holds it: a top-level number or number set canonical,
    numbers inside lists and maps as sent; sets keep their order."""
    ((t, v),) = value.items()
    if t == "N":
        return {"N": canonical_number(v)}
    if t == "NS":
        return {"NS": [canonical_number(x) for x in v]}
    return copy.deepcopy(value)


def _bytes(v: Any) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def _comparable(value: Any) -> Any:
    """A value in a form where DynamoDB's equality is Python's (sets as sets, numbers by value)."""
    ((t, v),) = value.items()
    if t == "N":
        return (t, Decimal(v))
    if t == "NS":
        return (t, frozenset(Decimal(x) for x in v))
    if t in ("SS", "BS"):
        return (t, frozenset(v))
    if t == "M":
        return (t, frozenset((k, _comparable(x)) for k, x in v.items()))
    if t == "L":
        return (t, tuple(_comparable(x) for x in v))
    return (t, v)


_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}
_INVALID = "One or more parameter values were invalid: "
_DUPLICATES: dict[str, Callable[[list[Any]], str]] = {  # DynamoDB Local's words, per set type
    "SS": lambda v: f"{_INVALID}Input collection [{', '.join(v)}] contains duplicates",
    "NS": lambda v: "Input collection contains duplicates",
    "BS": lambda v: f"{_INVALID}Input collection of type BS contains duplicates.",
}


class Fault:
    """What the next call of an operation does instead of (or besides) its normal work."""

    def __init__(
        self,
        *,
        error: ClientError | Exception | None = None,
        lose_answer: bool = False,
        unprocessed: int | None = None,
        reasons: dict[int, dict[str, Any]] | None = None,
        before: Callable[[], None] | None = None,
    ):
        self.error = error  # raised instead of doing anything (or after the write: lose_answer)
        self.lose_answer = lose_answer  # the write is applied, then `error` is raised
        self.unprocessed = unprocessed  # BatchWriteItem/BatchGetItem: the last N requests left unprocessed
        self.reasons = reasons  # TransactWriteItems: cancel, with these reasons by item index (rest None)
        self.before = before  # runs first (e.g. another writer changes an item)


class FakeDynamoDB:
    def __init__(self, **tables: tuple[str, ...]):
        """``FakeDynamoDB(Orders=("PK", "SK"))``: tables and their key attribute names.

        A name may carry its type (``"PK:N"``): then a key of another type is refused, as DynamoDB does.
        """
        self.keys = {t: tuple(k.split(":")[0] for k in ks) for t, ks in tables.items()}
        self.key_types = {
            t: tuple(k.split(":")[1] if ":" in k else None for k in ks) for t, ks in tables.items()
        }
        self.items: dict[str, dict[tuple[Any, ...], Item]] = {name: {} for name in tables}
        self._faults: dict[str, list[Fault]] = {}
        # PutItem's time in flight (seconds) and the most PutItem calls seen in flight at once
        self.latency = 0.0
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        # the number of items of every TransactWriteItems request received (the shape of the requests)
        self.transaction_sizes: list[int] = []

    # -- test helpers ------------------------------------------------------------------------------
    def script(self, op: str, *faults: Fault) -> None:
        """The next ``len(faults)`` calls of ``op`` meet these faults, in order."""
        self._faults.setdefault(op, []).extend(faults)

    def pending_faults(self, op: str) -> int:
        return len(self._faults.get(op, []))

    def put(self, table: str, item: Item) -> None:
        self.items[table][self._kid(table, item, "PutItem")] = {k: canonical(v) for k, v in item.items()}

    def get(self, table: str, key: Item) -> Item | None:
        return self.items[table].get(self._kid(table, key, "GetItem"))

    def all(self, table: str) -> list[Item]:
        return [self.items[table][k] for k in sorted(self.items[table])]

    # -- internals ---------------------------------------------------------------------------------
    def _fault(self, op: str) -> Fault | None:
        queue = self._faults.get(op)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault.before is not None:
            fault.before()
        return fault

    def _kid(self, table: str, item: Item, op: str, *, key_only: bool = False) -> tuple[Any, ...]:
        """The identity of an item's key; ``key_only``: ``item`` is a ``Key`` (nothing else allowed)."""
        if table not in self.keys:
            raise client_error(op, "ResourceNotFoundException", "Requested resource not found")
        names = self.keys[table]
        if key_only and (set(item) != set(names)):
            raise _invalid(op, "The number of conditions on the keys is invalid")
        kid = []
        for name, want in zip(names, self.key_types[table], strict=True):
            if name not in item:
                raise _invalid(op, "One of the required keys was not given a value")
            ((t, v),) = item[name].items()
            if (want is not None and t != want) or t not in ("S", "N", "B"):
                raise _invalid(op, "One or more parameter values were invalid: Type mismatch for key")
            if t in ("S", "B") and len(v) == 0:
                kind = "string" if t == "S" else "binary"
                raise _invalid(
                    op,
                    "One or more parameter values are not valid. The AttributeValue for a key attribute "
                    f"cannot contain an empty {kind} value. Key: {name}",
                )
            kid.append(canonical_number(v) if t == "N" else v)
        return tuple(kid)

    def _check_item(self, table: str, item: Item, op: str) -> tuple[Any, ...]:
        for value in item.values():
            self._check_value(op, value)
        kid = self._kid(table, item, op)
        if any(_depth(v) >= 32 for v in item.values()):
            raise _invalid(
                op,
                "Nesting Levels have exceeded supported limits: "
                "Attributes in the item have nested levels beyond supported limit",
            )
        return kid

    def _check_value(self, op: str, value: Any) -> None:
        ((t, v),) = value.items()
        if t in _SET_NAMES:
            if not v:
                raise _invalid(
                    op,
                    "One or more parameter values were invalid: "
                    + (
                        "Binary sets should not be empty"
                        if t == "BS"
                        else f"An {_SET_NAMES[t]} set  may not be empty"
                    ),
                )
            members = [Decimal(x) for x in v] if t == "NS" else v
            if len(set(members)) != len(members):
                raise _invalid(op, _DUPLICATES[t](v))
        elif t == "M":
            for x in v.values():
                self._check_value(op, x)
        elif t == "L":
            for x in v:
                self._check_value(op, x)

    def _check_placeholders(
        self, op: str, request: dict[str, Any], *uses: tuple[str | None, tuple[set[str], set[str]]]
    ) -> None:
        """DynamoDB's refusals of placeholders: undefined, unused, or given without any expression.

        ``uses``: per expression (its name, or ``None`` without any), the names and values it uses.
        """
        names = request.get("ExpressionAttributeNames")
        values = request.get("ExpressionAttributeValues")
        if all(where is None for where, _ in uses):
            if names is not None:
                raise _invalid(op, "ExpressionAttributeNames can only be specified when using expressions")
            if values is not None:
                raise _invalid(
                    op,
                    "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null",
                )
            return
        for where, used in uses:
            if where is not None:
                self._undefined(op, request, used, where)
        used_names = set().union(*(u[0] for _, u in uses))
        used_values = set().union(*(u[1] for _, u in uses))
        if names is not None and set(names) - used_names:
            keys = ", ".join(sorted(set(names) - used_names))
            raise _invalid(
                op, f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{keys}}}"
            )
        if values is not None and set(values) - used_values:
            keys = ", ".join(sorted(set(values) - used_values))
            raise _invalid(
                op, f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{keys}}}"
            )

    def _undefined(
        self, op: str, request: dict[str, Any], used: tuple[set[str], set[str]], where: str
    ) -> None:
        names = request.get("ExpressionAttributeNames")
        values = request.get("ExpressionAttributeValues")
        for name in sorted(used[0] - set(names or {})):
            raise _invalid(
                op,
                f"Invalid {where}: An expression attribute name used in the document path is not defined; "
                f"attribute name: {name}",
            )
        for value in sorted(used[1] - set(values or {})):
            raise _invalid(
                op,
                f"Invalid {where}: An expression attribute value used in expression is not defined; "
                f"attribute value: {value}",
            )

    def _condition_holds(
        self,
        op: str,
        request: dict[str, Any],
        current: Item | None,
        also: tuple[set[str], set[str]] | None = None,
    ) -> bool:
        """Whether the request's condition holds; ``also``: placeholders another expression uses."""
        expression = request.get("ConditionExpression")
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        if expression is not None and expression not in KNOWN_CONDITIONS:
            raise _invalid(op, f"Invalid ConditionExpression: {expression!r}")
        want_names, want_values = KNOWN_CONDITIONS[expression] if expression is not None else (set(), set())
        if also is None:
            where = "ConditionExpression" if expression is not None else None
            self._check_placeholders(op, request, (where, (want_names, want_values)))
        if expression is None:
            return True
        if expression == "attribute_not_exists(#pk)":
            return current is None or names["#pk"] not in current
        if expression == "#m = :m":
            if current is None or names["#m"] not in current:
                return False
            return bool(_comparable(current[names["#m"]]) == _comparable(values[":m"]))
        # attribute_not_exists(#pk) OR #v < :v
        new = values[":v"]
        ((new_type, new_value),) = new.items()
        if new_type not in ("N", "S", "B"):
            raise _invalid(
                op,
                "Invalid ConditionExpression: Incorrect operand type for operator or function; "
                f"operator or function: <, operand type: {new_type}",
            )
        if current is None or names["#pk"] not in current:
            return True
        old = current.get(names["#v"])
        if old is None:
            return False  # a comparison with an absent attribute is false
        ((old_type, old_value),) = old.items()
        if old_type != new_type:
            return False  # values of different types compare false
        if new_type == "N":
            return bool(Decimal(old_value) < Decimal(new_value))
        if new_type == "S":
            return bool(old_value.encode() < new_value.encode())  # UTF-8 bytes, as DynamoDB orders them
        return _bytes(old_value) < _bytes(new_value)

    def _check_return_values(self, op: str, request: dict[str, Any]) -> None:
        if request.get("ReturnValues", "NONE") not in ("NONE", "ALL_OLD"):
            raise _invalid(op, f"ReturnValues {request.get('ReturnValues')!r} is not valid for {op}")
        if request.get("ReturnValuesOnConditionCheckFailure", "NONE") not in ("NONE", "ALL_OLD"):
            raise _invalid(op, "ReturnValuesOnConditionCheckFailure must be NONE or ALL_OLD")

    def _conditional_failure(self, op: str, request: dict[str, Any], current: Item | None) -> ClientError:
        extra: dict[str, Any] = {}
        if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
            extra["Item"] = copy.deepcopy(current)
        return client_error(op, "ConditionalCheckFailedException", "The conditional request failed", **extra)

    # -- the API -----------------------------------------------------------------------------------
    def put_item(self, **request: Any) -> dict[str, Any]:
        if not self.latency:
            return self._put_item(**request)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.latency)
            return self._put_item(**request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _put_item(self, **request: Any) -> dict[str, Any]:
        op = "PutItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None and not fault.lose_answer:
            raise fault.error
        table, item = request.pop("TableName"), request.pop("Item")
        allowed = {
            "ConditionExpression",
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "ReturnValues",
            "ReturnValuesOnConditionCheckFailure",
        }
        if set(request) - allowed:
            raise _invalid(op, f"unknown parameters {sorted(set(request) - allowed)}")
        self._check_return_values(op, request)
        kid = self._check_item(table, item, op)
        current = self.items[table].get(kid)
        if not self._condition_holds(op, request, current):
            raise self._conditional_failure(op, request, current)
        self.items[table][kid] = {k: canonical(v) for k, v in item.items()}
        if fault is not None and fault.lose_answer:
            raise fault.error or client_error(op, "InternalServerError", "answer lost", 500)
        out: dict[str, Any] = {}
        if request.get("ReturnValues") == "ALL_OLD" and current is not None:
            out["Attributes"] = copy.deepcopy(current)
        return out

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        op = "BatchWriteItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None:
            raise fault.error
        ((table, requests),) = RequestItems.items()
        if not 1 <= len(requests) <= 25:
            raise _invalid(op, "Too many items requested for the BatchWriteItem call")
        kids = []
        for r in requests:
            if set(r) != {"PutRequest"} or set(r["PutRequest"]) != {"Item"}:
                raise _invalid(op, "only PutRequest with Item expected here")
            kids.append(self._check_item(table, r["PutRequest"]["Item"], op))
        if len(set(kids)) != len(kids):
            raise _invalid(op, "Provided list of item keys contains duplicates")
        left = fault.unprocessed if fault is not None and fault.unprocessed else 0
        done = requests[: len(requests) - left]
        for r in done:
            item = r["PutRequest"]["Item"]
            self.items[table][self._kid(table, item, op)] = {k: canonical(v) for k, v in item.items()}
        unprocessed = requests[len(requests) - left :]
        return {"UnprocessedItems": {table: copy.deepcopy(unprocessed)} if unprocessed else {}}

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        op = "BatchGetItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None:
            raise fault.error
        ((table, request),) = RequestItems.items()
        if set(request) - {"Keys", "ConsistentRead"}:
            raise _invalid(op, f"unknown parameters {sorted(set(request) - {'Keys', 'ConsistentRead'})}")
        keys = request["Keys"]
        if not 1 <= len(keys) <= 100:
            raise _invalid(op, "Too many items requested for the BatchGetItem call")
        kids = [self._kid(table, k, op, key_only=True) for k in keys]
        if len(set(kids)) != len(kids):
            raise _invalid(op, "Provided list of item keys contains duplicates")
        left = fault.unprocessed if fault is not None and fault.unprocessed else 0
        answered = kids[: len(kids) - left]
        found = []
        if request.get("ConsistentRead") is True:
            found = [copy.deepcopy(self.items[table][k]) for k in answered if k in self.items[table]]
        out: dict[str, Any] = {"Responses": {table: found}, "UnprocessedKeys": {}}
        if left:
            out["UnprocessedKeys"] = {
                table: {"Keys": copy.deepcopy(keys[len(keys) - left :]), "ConsistentRead": True}
            }
        return out

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        op = "TransactWriteItems"
        fault = self._fault(op)
        if fault is not None and fault.error is not None and fault.reasons is None:
            raise fault.error
        self.transaction_sizes.append(len(TransactItems))
        if not 1 <= len(TransactItems) <= 100:
            raise _invalid(op, "Member must have length less than or equal to 100")
        puts = []
        for t in TransactItems:
            if set(t) != {"Put"}:
                raise _invalid(op, "only Put expected here")
            request = dict(t["Put"])
            table, item = request.pop("TableName"), request.pop("Item")
            if request.get("ReturnValues") is not None:
                raise _invalid(op, "ReturnValues is not supported in a transaction")
            self._check_return_values(op, request)
            puts.append((table, item, request, self._check_item(table, item, op)))
        if len({(t, k) for t, _, _, k in puts}) != len(puts):
            raise _invalid(op, "Transaction request cannot include multiple operations on one item")
        reasons: list[dict[str, Any]] = []
        failed = fault is not None and fault.reasons is not None  # scripted: cancelled in any case
        for i, (table, _, request, kid) in enumerate(puts):
            current = self.items[table].get(kid)
            if fault is not None and fault.reasons is not None and i in fault.reasons:
                reasons.append(fault.reasons[i])
                failed = True
            elif not self._condition_holds(op, request, current):
                reason: dict[str, Any] = {
                    "Code": "ConditionalCheckFailed",
                    "Message": "The conditional request failed",
                }
                if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                    reason["Item"] = copy.deepcopy(current)
                reasons.append(reason)
                failed = True
            else:
                reasons.append({"Code": "None"})
        if failed:
            codes = ", ".join(str(r.get("Code")) for r in reasons)
            message = (
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
            )
            raise client_error(
                op, "TransactionCanceledException", message, Message=message, CancellationReasons=reasons
            )
        for table, item, _, kid in puts:
            self.items[table][kid] = {k: canonical(v) for k, v in item.items()}
        return {}

    def delete_item(self, **request: Any) -> dict[str, Any]:
        op = "DeleteItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None:
            raise fault.error
        table, key = request.pop("TableName"), request.pop("Key")
        self._check_return_values(op, request)
        kid = self._kid(table, key, op, key_only=True)
        current = self.items[table].get(kid)
        if not self._condition_holds(op, request, current):
            raise self._conditional_failure(op, request, current)
        self.items[table].pop(kid, None)
        out: dict[str, Any] = {}
        if request.get("ReturnValues") == "ALL_OLD" and current is not None:
            out["Attributes"] = copy.deepcopy(current)
        return out

    def update_item(self, **request: Any) -> dict[str, Any]:
        op = "UpdateItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None:
            raise fault.error
        table, key = request.pop("TableName"), request.pop("Key")
        update = request.pop("UpdateExpression")
        if update != "REMOVE #m":
            raise _invalid(op, f"Invalid UpdateExpression: {update!r}")
        names = request.get("ExpressionAttributeNames") or {}
        condition = request.get("ConditionExpression")
        want = KNOWN_CONDITIONS.get(condition, (set(), set())) if condition is not None else (set(), set())
        self._check_placeholders(
            op,
            request,
            ("UpdateExpression", ({"#m"}, set())),
            ("ConditionExpression" if condition is not None else None, want),
        )
        self._check_return_values(op, request)
        kid = self._kid(table, key, op, key_only=True)
        current = self.items[table].get(kid)
        if not self._condition_holds(op, request, current, also=({"#m"}, set())):
            raise self._conditional_failure(op, request, current)
        old = copy.deepcopy(current)
        if current is None:  # DynamoDB creates the item (its key, here: REMOVE adds nothing)
            current = self.items[table][kid] = {k: canonical(v) for k, v in key.items()}
        current.pop(names["#m"], None)
        out: dict[str, Any] = {}
        if request.get("ReturnValues") == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        return out
