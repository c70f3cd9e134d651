"""Fault injection for DynamoDB clients (tests, benchmarks, demos of the retry logic).

:class:`FaultInjector` hooks a boto3 client's ``before-send`` event: for a deterministic (seeded)
fraction of calls it answers with a fake error response instead of sending the request, so the real
botocore error parsing and our real retry code run, against DynamoDB Local or AWS alike::

    with FaultInjector(client, throttle_rate=0.2, error_rate=0.1, seed=7) as faults:
        writer.write_batch(items)
    faults.injected  # {"throttle": 31, "error500": 12, ...}

Kinds of faults:

* ``throttle``   - HTTP 400 ProvisionedThroughputExceededException (nothing written)
* ``error500``   - HTTP 500 InternalServerError (nothing written)
* ``connection`` - botocore ConnectionClosedError (nothing written)
* ``lost_ack``   - the request IS sent and applied, then a 500 is returned: the ambiguous failure
  that makes retries meet their own earlier write (conditional writes must stay correct)
* ``unprocessed`` - BatchWriteItem only: HTTP 200 with every item returned as UnprocessedItems
"""

from __future__ import annotations

import json
import random
import threading
import urllib.request
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

DYNAMO_PREFIX = "com.amazonaws.dynamodb.v20120810#"
WRITE_OPERATIONS = frozenset({"PutItem", "BatchWriteItem", "TransactWriteItems", "UpdateItem", "DeleteItem"})


class _Raw:
    """Just enough of urllib3's response for botocore's AWSResponse."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield self._body

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self._body


def _response(url: str, status: int, body: dict[str, Any]) -> AWSResponse:
    data = json.dumps(body).encode("utf-8")
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "dynamigrate-fault-injector"
    headers["Content-Length"] = str(len(data))
    return AWSResponse(url, status, headers, _Raw(data))


class FaultInjector:
    """Injects faults into a fraction of a client's calls. Rates are probabilities per call."""

    def __init__(
        self,
        client: Any,
        *,
        throttle_rate: float = 0.0,
        error_rate: float = 0.0,
        connection_rate: float = 0.0,
        lost_ack_rate: float = 0.0,
        unprocessed_rate: float = 0.0,
        operations: frozenset[str] | set[str] | None = WRITE_OPERATIONS,
        seed: int = 0,
        max_faults: int | None = None,
    ):
        self.client = client
        self.rates = [
            ("throttle", throttle_rate),
            ("error500", error_rate),
            ("connection", connection_rate),
            ("lost_ack", lost_ack_rate),
            ("unprocessed", unprocessed_rate),
        ]
        self.operations = frozenset(operations) if operations is not None else None
        self.max_faults = max_faults
        self.injected: dict[str, int] = {}
        self.calls = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._attached = False

    # -- lifecycle -------------------------------------------------------------------------------
    def attach(self) -> FaultInjector:
        if not self._attached:
            self.client.meta.events.register("before-send.dynamodb", self._before_send)
            self._attached = True
        return self

    def detach(self) -> None:
        if self._attached:
            self.client.meta.events.unregister("before-send.dynamodb", self._before_send)
            self._attached = False

    def __enter__(self) -> FaultInjector:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    # -- the hook --------------------------------------------------------------------------------
    def _pick(self, operation: str) -> str | None:
        with self._lock:
            self.calls += 1
            if self.operations is not None and operation not in self.operations:
                return None
            if self.max_faults is not None and sum(self.injected.values()) >= self.max_faults:
                return None
            draw = self._rng.random()
            acc = 0.0
            for kind, rate in self.rates:
                if kind == "unprocessed" and operation != "BatchWriteItem":
                    continue
                acc += rate
                if draw < acc:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind
            return None

    def _before_send(self, request: Any, event_name: str = "", **kwargs: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        kind = self._pick(operation)
        if kind is None:
            return None
        url = request.url
        if kind == "throttle":
            return _response(
                url,
                400,
                {
                    "__type": DYNAMO_PREFIX + "ProvisionedThroughputExceededException",
                    "message": "The level of configured provisioned throughput for the table was exceeded "
                    "(injected)",
                },
            )
        if kind == "error500":
            return _response(
                url,
                500,
                {
                    "__type": DYNAMO_PREFIX + "InternalServerError",
                    "message": "Internal server error (injected)",
                },
            )
        if kind == "connection":
            from botocore.exceptions import ConnectionClosedError

            raise ConnectionClosedError(endpoint_url=url)
        if kind == "unprocessed":
            body = json.loads(request.body or b"{}")
            return _response(url, 200, {"UnprocessedItems": body.get("RequestItems", {})})
        # lost_ack: apply the request for real, then pretend it failed
        self._send_for_real(request)
        return _response(
            url,
            500,
            {
                "__type": DYNAMO_PREFIX + "InternalServerError",
                "message": "Internal server error (injected after the write)",
            },
        )

    @staticmethod
    def _send_for_real(request: Any) -> None:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        req = urllib.request.Request(request.url, data=body, headers=headers, method=request.method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:  # the real call failed (e.g. condition): nothing applied
            exc.read()
