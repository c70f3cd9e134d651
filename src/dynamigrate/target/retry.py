"""Retry policy for DynamoDB calls: bounded exponential backoff with full jitter, counted.

Classification of botocore errors (:func:`classify`):

* ``throttle``  - ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded,
  LimitExceededException (control plane), TransactionInProgressException -> retried, counted as throttles
* ``transient`` - InternalServerError, ServiceUnavailable, any HTTP 5xx, TransactionConflictException,
  connection errors (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError,
  ConnectTimeoutError, other HTTPClientError) -> retried
* ``condition`` - ConditionalCheckFailedException -> not an error for the writers (skip / conflict)
* ``cancelled`` - TransactionCanceledException -> the transact strategy reads its reasons
* ``terminal``  - everything else (ValidationException, ResourceNotFoundException, access denied...)

Delay before retry *n* (1-based) is ``uniform(0, min(max_delay, base_delay * 2**(n-1)))`` ("full
jitter", see the AWS Architecture Blog "Exponential Backoff And Jitter"). After ``max_attempts``
attempts the last error is raised as :class:`~dynamigrate.errors.TransientTargetError`, so the run
stops (and can resume) instead of losing items silently. botocore's own retries are switched off in
:func:`dynamigrate.target.client.dynamodb_client` so that every retry is visible in these counters.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dynamigrate.errors import TargetError, TransientTargetError

log = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "LimitExceededException",
        "TransactionInProgressException",
        "ThrottlingError",  # a cancellation reason code
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionConflictException",
        "TransactionConflict",  # a cancellation reason code
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
CONDITION_CODES = frozenset({"ConditionalCheckFailedException", "ConditionalCheckFailed"})


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code else None
    return None


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        msg = (response.get("Error") or {}).get("Message")
        if msg:
            return str(msg)
    return str(exc)


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


def classify(exc: BaseException) -> str:
    """'throttle' | 'transient' | 'condition' | 'cancelled' | 'terminal' (see module docstring)."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, HTTPClientError | BotoConnectionError):  # refused/closed connections, timeouts
        return "transient"
    if isinstance(exc, ClientError):
        code = error_code(exc) or ""
        if code in THROTTLE_CODES:
            return "throttle"
        if code in CONDITION_CODES:
            return "condition"
        if code == "TransactionCanceledException":
            return "cancelled"
        if code in TRANSIENT_CODES:
            return "transient"
        status = http_status(exc)
        if status is not None and status >= 500:
            return "transient"
        return "terminal"
    if isinstance(exc, TransientTargetError):
        return "transient"
    return "terminal"


@dataclass
class RetryStats:
    """Counters shared by every call made through one policy (thread-safe)."""

    retries: int = 0
    throttles: int = 0
    transient_errors: int = 0
    gave_up: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, kind: str, code: str) -> None:
        with self._lock:
            self.retries += 1
            if kind == "throttle":
                self.throttles += 1
            else:
                self.transient_errors += 1
            self.by_code[code] = self.by_code.get(code, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "retries": self.retries,
                "throttles": self.throttles,
                "transient_errors": self.transient_errors,
                "gave_up": self.gave_up,
                "by_code": dict(self.by_code),
            }


class RetryPolicy:
    """Bounded exponential backoff with full jitter. One policy per writer; thread-safe."""

    def __init__(
        self,
        max_attempts: int = 10,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        *,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.stats = RetryStats()
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._sleep = sleep

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based): full jitter over a capped exponential."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        with self._rng_lock:
            return self._rng.uniform(0, cap)

    def backoff(self, retry_number: int, kind: str, code: str) -> None:
        """Record one retry of ``kind`` and sleep for it."""
        self.stats.record(kind, code)
        self._sleep(self.delay(retry_number))

    def give_up(self, exc: BaseException, what: str, attempts: int) -> TransientTargetError:
        with self.stats._lock:
            self.stats.gave_up += 1
        code = error_code(exc)
        if code is None and classify(exc) == "transient":  # no answer at all: refused, closed, timed out
            hint = (
                "DynamoDB could not be reached: check the endpoint (aws.dynamodb_endpoint_url / "
                "AWS_ENDPOINT_URL / --dynamodb-endpoint), that it is up, and the network; the run can be resumed"
            )
        elif code in THROTTLE_CODES:
            hint = (
                "DynamoDB is throttling: raise capacity (or use on-demand), lower --concurrency, or raise "
                "max_attempts; the run can be resumed"
            )
        else:
            hint = "DynamoDB kept failing with a server error; retry later, the run can be resumed"
        return TransientTargetError(
            f"{what} still failing after {attempts} attempts: {code or type(exc).__name__}: "
            f"{error_message(exc)}",
            hint=hint,
            code="DM520",
        )

    def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        what: str = "DynamoDB call",
        on_retry: Callable[[str, str], None] | None = None,
        **kwargs: Any,
    ) -> T:
        """``fn(*args, **kwargs)``, retrying throttles and transient errors.

        Errors of other kinds (condition, cancelled, terminal) propagate unchanged for the caller to
        handle; exhausted retries raise :class:`TransientTargetError`.
        """
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                kind = classify(exc)
                if kind not in ("throttle", "transient"):
                    raise
                if attempt >= self.max_attempts:
                    raise self.give_up(exc, what, attempt) from exc
                code = error_code(exc) or type(exc).__name__
                log.debug("%s: %s (%s), retry %d", what, code, kind, attempt)
                if on_retry is not None:
                    on_retry(kind, code)
                self.backoff(attempt, kind, code)
                attempt += 1


def unprocessed_keys_error(table: str, request: dict[str, Any], attempts: int) -> TransientTargetError:
    """BatchGetItem still leaving keys unprocessed after ``attempts`` calls: the table is throttled."""
    left = sum(len(v.get("Keys", [])) for v in request.values() if isinstance(v, dict))
    return TransientTargetError(
        f"BatchGetItem on {table} still left {left} key(s) unprocessed after {attempts} attempts",
        hint="DynamoDB is throttling the reads: raise the table's read capacity (or use on-demand) or "
        "lower --concurrency; the run can be resumed",
        code="DM520",
        table=table,
    )


def terminal_error(exc: BaseException, **where: Any) -> TargetError:
    """A terminal DynamoDB error as a TargetError carrying DynamoDB's code and message."""
    return TargetError(
        f"DynamoDB refused the request: {error_code(exc) or type(exc).__name__}: {error_message(exc)}",
        **where,
    )


#: errors about the table, the endpoint or the credentials: they fail the table, never one row
TABLE_ERROR_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)
#: ValidationException messages that concern the key schema (every item of the table would fail)
_KEY_SCHEMA_MESSAGES = (
    "missing the key",
    "type mismatch for key",
    "type mismatch for index key",
    "does not match the schema",
    "requested resource not found",
    "non-existent table",
    "one of the required keys was not given a value",  # DynamoDB Local's word for a missing key
)


def is_table_error(exc: BaseException) -> bool:
    """Is ``exc`` about the table, the endpoint or the credentials rather than one item?"""
    return is_table_reason(error_code(exc) or "", error_message(exc))


def is_table_reason(code: str, message: str) -> bool:
    """The same for an error code and message (also a transaction's cancellation reason)."""
    if code in TABLE_ERROR_CODES:
        return True
    if code in ("ValidationException", "ValidationError"):
        return any(m in message.lower() for m in _KEY_SCHEMA_MESSAGES)
    return False


def table_error(exc: BaseException, **where: Any) -> TargetError:
    """A table-level DynamoDB error as a TargetError with what to do about it (the table fails and is
    not checkpointed as done; ``--resume`` retries it)."""
    return table_reason_error(error_code(exc) or type(exc).__name__, error_message(exc), **where)


def table_reason_error(code: str, message: str, **where: Any) -> TargetError:
    """:func:`table_error` from an error code and message."""
    table = where.get("table") or "the table"
    if code == "ResourceNotFoundException" or "non-existent table" in message.lower():
        hint = (
            f"{table} does not exist (deleted during the run, or another region/endpoint); rerun with "
            "--resume: the table is created again and loaded completely"
        )
    elif code in ("ValidationException", "ValidationError"):
        hint = (
            f"the key schema of {table} does not match the contract (key names or types); fix the table "
            "or the contract (compare `aws dynamodb describe-table`), then rerun with --resume"
        )
    else:
        hint = (
            "the credentials are missing, expired or lack a permission on the table (dynamodb:PutItem, "
            "BatchWriteItem, BatchGetItem, DescribeTable...); fix them, then rerun with --resume"
        )
    return TargetError(f"DynamoDB refused the table: {code}: {message}", hint=hint, code="DM530", **where)
