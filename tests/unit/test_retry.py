"""Retry policy: classification of botocore errors, full-jitter backoff bounds, bounded attempts."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from dynamigrate.errors import TransientTargetError
from dynamigrate.target.retry import RetryPolicy, classify, error_code, error_message


def client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (client_error("ProvisionedThroughputExceededException"), "throttle"),
        (client_error("ThrottlingException"), "throttle"),
        (client_error("RequestLimitExceeded"), "throttle"),
        (client_error("InternalServerError", 500), "transient"),
        (client_error("ServiceUnavailable", 503), "transient"),
        (client_error("SomethingNew", 502), "transient"),
        (client_error("TransactionConflictException"), "transient"),
        (client_error("ConditionalCheckFailedException"), "condition"),
        (client_error("TransactionCanceledException"), "cancelled"),
        (client_error("ValidationException"), "terminal"),
        (client_error("ResourceNotFoundException"), "terminal"),
        (client_error("AccessDeniedException", 403), "terminal"),
        (EndpointConnectionError(endpoint_url="http://x"), "transient"),
        (ConnectionClosedError(endpoint_url="http://x"), "transient"),
        (ReadTimeoutError(endpoint_url="http://x"), "transient"),
        (ValueError("not ours"), "terminal"),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


def test_error_code_and_message() -> None:
    exc = client_error("ValidationException", message="Item size has exceeded")
    assert error_code(exc) == "ValidationException"
    assert error_message(exc) == "Item size has exceeded"
    assert error_code(ValueError("x")) is None


def test_full_jitter_delays_are_bounded_and_deterministic() -> None:
    a = RetryPolicy(base_delay=0.1, max_delay=1.0, seed=3)
    b = RetryPolicy(base_delay=0.1, max_delay=1.0, seed=3)
    da = [a.delay(n) for n in range(1, 12)]
    assert da == [b.delay(n) for n in range(1, 12)]
    for n, d in enumerate(da, start=1):
        assert 0 <= d <= min(1.0, 0.1 * 2 ** (n - 1))
    assert max(da) <= 1.0


class Flaky:
    def __init__(self, failures: list[BaseException], result: Any = "ok"):
        self.failures = list(failures)
        self.calls = 0
        self.result = result

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def test_call_retries_transient_and_counts() -> None:
    slept: list[float] = []
    policy = RetryPolicy(max_attempts=5, base_delay=0.01, seed=1, sleep=slept.append)
    fn = Flaky(
        [
            client_error("ProvisionedThroughputExceededException"),
            client_error("InternalServerError", 500),
            EndpointConnectionError(endpoint_url="http://x"),
        ]
    )
    seen: list[tuple[str, str]] = []
    assert policy.call(fn, on_retry=lambda k, c: seen.append((k, c))) == "ok"
    assert fn.calls == 4
    assert len(slept) == 3
    assert policy.stats.retries == 3
    assert policy.stats.throttles == 1
    assert policy.stats.transient_errors == 2
    assert seen[0] == ("throttle", "ProvisionedThroughputExceededException")
    assert policy.stats.as_dict()["by_code"]["InternalServerError"] == 1


def test_call_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, sleep=lambda s: None)
    fn = Flaky([client_error("ThrottlingException")] * 10)
    with pytest.raises(TransientTargetError, match="after 3 attempts") as info:
        policy.call(fn, what="PutItem on T")
    assert fn.calls == 3
    assert "PutItem on T" in str(info.value)
    assert info.value.hint and "resume" in info.value.hint
    assert policy.stats.gave_up == 1


def test_terminal_and_condition_errors_are_not_retried() -> None:
    policy = RetryPolicy(sleep=lambda s: None)
    for code in ("ValidationException", "ConditionalCheckFailedException"):
        fn = Flaky([client_error(code)])
        with pytest.raises(ClientError):
            policy.call(fn)
        assert fn.calls == 1
    assert policy.stats.retries == 0


def test_invalid_policy() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
