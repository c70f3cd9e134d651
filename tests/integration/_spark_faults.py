"""Fault injection for the Spark tests through the engine's task client factory (not collected).

:class:`FailingWrites` is given to ``SparkEngine(task_client_factory=...)``; every Spark task calls it
for its DynamoDB client. In the chosen partition (its index in the job) the client writes the first
``after_items`` items for real and then raises on every write: on the task's first attempt only (Spark
retries the task and the retry succeeds) or on every attempt (the job fails). Other tasks get a plain
client. Production code knows nothing about it: the seam is the factory.

The Python workers of Spark cannot import this module (tests/ is not on their path), so the test
registers it with cloudpickle to travel by value: :func:`ship_by_value`.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

WRITE_CALLS = ("put_item", "transact_write_items", "batch_write_item")


def ship_by_value() -> None:
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _items_in(name: str, kwargs: dict[str, Any]) -> int:
    if name == "put_item":
        return 1
    if name == "transact_write_items":
        return len(kwargs.get("TransactItems") or [])
    return sum(len(v) for v in (kwargs.get("RequestItems") or {}).values())


class _FailingClient:
    """A boto3 client whose writes raise once ``budget`` items have been written."""

    def __init__(self, client: Any, budget: int, message: str):
        self._client = client
        self._budget = budget
        self._message = message
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in WRITE_CALLS:
            return attr

        def call(**kwargs: Any) -> Any:
            with self._lock:
                n = _items_in(name, kwargs)
                if self._budget < n:
                    raise RuntimeError(self._message)
                self._budget -= n
            return attr(**kwargs)

        return call


@dataclass(frozen=True)
class FailingWrites:
    region: str
    endpoint: str
    partition: int
    after_items: int
    every_attempt: bool = False

    def __call__(self) -> Any:
        from pyspark import TaskContext

        from dynamigrate.config import AwsSettings
        from dynamigrate.target.client import dynamodb_client

        client = dynamodb_client(AwsSettings(region=self.region, dynamodb_endpoint_url=self.endpoint))
        ctx = TaskContext.get()
        if ctx is None or ctx.partitionId() != self.partition:
            return client
        attempt = ctx.attemptNumber()
        if attempt > 0 and not self.every_attempt:
            return client
        return _FailingClient(
            client, self.after_items, f"injected failure in partition {self.partition}, attempt {attempt}"
        )


class _DeniedClient:
    """A boto3 client whose writes are refused as IAM refuses them (AccessDeniedException)."""

    def __init__(self, client: Any):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in (*WRITE_CALLS, "batch_get_item"):
            return attr

        def call(**kwargs: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": "User: arn:aws:iam::123456789012:user/etl is not authorized to perform: "
                        f"dynamodb:{name} on resource: table",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                name,
            )

        return call


@dataclass(frozen=True)
class DeniedWrites:
    """A task client factory whose clients lack the write permissions (every task)."""

    region: str
    endpoint: str

    def __call__(self) -> Any:
        from dynamigrate.config import AwsSettings
        from dynamigrate.target.client import dynamodb_client

        return _DeniedClient(
            dynamodb_client(AwsSettings(region=self.region, dynamodb_endpoint_url=self.endpoint))
        )
