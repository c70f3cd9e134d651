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
  item without its key attributes, a document nested deeper than 32 levels (refused item);
* an eventually consistent read may miss recent writes: this fake misses all of them (only
  ``ConsistentRead=True`` sees the table).

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
from decimal import Decimal
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
    ((t, v),) = value.items()
    if t == "M":
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if t == "L":
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


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
        """``FakeDynamoDB(Orders=("PK", "SK"))``: tables and their key attribute names."""
        self.keys = dict(tables)
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
        self.items[table][self._kid(table, item, "PutItem")] = copy.deepcopy(item)

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

    def _kid(self, table: str, item: Item, op: str) -> tuple[Any, ...]:
        if table not in self.keys:
            raise client_error(op, "ResourceNotFoundException", "Requested resource not found")
        try:
            return tuple(next(iter(item[k].values())) for k in self.keys[table])
        except KeyError:
            raise _invalid(op, "One of the required keys was not given a value") from None

    def _check_item(self, table: str, item: Item, op: str) -> tuple[Any, ...]:
        kid = self._kid(table, item, op)
        if any(_depth(v) > 32 for v in item.values()):
            raise _invalid(op, "Nesting Levels have exceeded supported limits")
        return kid

    def _condition_holds(self, op: str, request: dict[str, Any], current: Item | None) -> bool:
        expression = request.get("ConditionExpression")
        names = request.get("ExpressionAttributeNames") or {}
        values = request.get("ExpressionAttributeValues") or {}
        if expression is None:
            if names or values:
                raise _invalid(op, "ExpressionAttributeNames/Values can only be specified with an expression")
            return True
        if expression not in KNOWN_CONDITIONS:
            raise _invalid(op, f"Invalid ConditionExpression: {expression!r}")
        want_names, want_values = KNOWN_CONDITIONS[expression]
        if set(names) != want_names or set(values) != want_values:
            raise _invalid(op, "Value provided in ExpressionAttributeNames/Values unused or missing")
        if expression == "attribute_not_exists(#pk)":
            return current is None or names["#pk"] not in current
        if expression == "#m = :m":
            return current is not None and current.get(names["#m"]) == values[":m"]
        # attribute_not_exists(#pk) OR #v < :v
        if current is None or names["#pk"] not in current:
            return True
        old = current.get(names["#v"])
        new = values[":v"]
        if old is None:
            return False  # a comparison with an absent attribute is false
        if set(old) != {"N"} or set(new) != {"N"}:
            raise _invalid(op, "Incorrect operand type for operator or function")
        return bool(Decimal(old["N"]) < Decimal(new["N"]))

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
        self.items[table][kid] = copy.deepcopy(item)
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
            raise _invalid(op, "Member must have length less than or equal to 25")
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
            self.items[table][self._kid(table, item, op)] = copy.deepcopy(item)
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
        kids = [self._kid(table, k, op) for k in keys]
        if len(set(kids)) != len(kids):
            raise _invalid(op, "Provided list of item keys contains duplicates")
        left = fault.unprocessed if fault is not None and fault.unprocessed else 0
        answered = kids[: len(kids) - left]
        found = []
        if request.get("ConsistentRead") is True:
            found = [copy.deepcopy(self.items[table][k]) for k in answered if k in self.items[table]]
        out: dict[str, Any] = {"Responses": {table: found}}
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
            raise client_error(
                op,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
                CancellationReasons=reasons,
            )
        for table, item, _, kid in puts:
            self.items[table][kid] = copy.deepcopy(item)
        return {}

    def delete_item(self, **request: Any) -> dict[str, Any]:
        op = "DeleteItem"
        fault = self._fault(op)
        if fault is not None and fault.error is not None:
            raise fault.error
        table, key = request.pop("TableName"), request.pop("Key")
        self._check_return_values(op, request)
        kid = self._kid(table, key, op)
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
        names = request.get("ExpressionAttributeNames") or {}
        if update != "REMOVE #m" or "#m" not in names:
            raise _invalid(op, f"Invalid UpdateExpression: {update!r}")
        self._check_return_values(op, request)
        kid = self._kid(table, key, op)
        current = self.items[table].get(kid)
        if not self._condition_holds(op, request, current):
            raise self._conditional_failure(op, request, current)
        assert current is not None  # the only condition sent needs the item
        current.pop(names["#m"], None)
        return {}
