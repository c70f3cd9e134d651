"""The lean sender's SigV4 signature equals botocore's for the same request and instant, and it
stands aside (None) for clients it cannot reproduce; its HTTP reading against a scripted server:
chunked answers, a CRC32 mismatch, a kept-alive connection the server closed."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, ConnectionClosedError

from dynamigrate.config import AwsSettings
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.faults import FaultInjector
from dynamigrate.target.lean import LeanSender, lean_sender

NOW = dt.datetime(2026, 11, 30, 21, 40, 5, tzinfo=dt.UTC)


def _botocore_authorization(
    creds: botocore.credentials.Credentials, host: str, region: str, target: str, body: bytes
) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
    )
    signer = botocore.auth.SigV4Auth(creds, "dynamodb", region)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: NOW.replace(tzinfo=None)
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//token+with/slashes=="])
@pytest.mark.parametrize("body", [b"{}", '{"Item":{"PK":{"S":"ünï 😀"}}}'.encode()])
def test_signature_equals_botocore(token: str | None, body: bytes) -> None:
    creds = botocore.credentials.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    sender = LeanSender(
        endpoint="https://dynamodb.eu-west-1.amazonaws.com", region="eu-west-1", credentials=creds
    )
    ours = dict(sender.signed_headers("DynamoDB_20120810.PutItem", body, now=NOW))
    ref = _botocore_authorization(
        creds, "dynamodb.eu-west-1.amazonaws.com", "eu-west-1", "DynamoDB_20120810.PutItem", body
    )
    assert ours["authorization"] == ref["authorization"]
    assert ours["x-amz-date"] == ref["x-amz-date"]
    assert ours.get("x-amz-security-token") == ref.get("x-amz-security-token")
    # a second request the same day reuses the cached signing key and still matches
    ours2 = dict(sender.signed_headers("DynamoDB_20120810.PutItem", body, now=NOW))
    assert ours2["authorization"] == ref["authorization"]


def test_stands_aside_for_what_it_cannot_reproduce(monkeypatch: pytest.MonkeyPatch) -> None:
    aws = AwsSettings(region="us-east-1", dynamodb_endpoint_url="http://127.0.0.1:1")
    client = dynamodb_client(aws)
    sender = lean_sender(client)
    assert sender is not None and sender.usable
    with FaultInjector(client, throttle_rate=1.0):
        assert not sender.usable  # the injector hooks botocore's before-send
        assert lean_sender(client) is None
    assert sender.usable
    monkeypatch.setenv("DYNAMIGRATE_LEAN_CLIENT", "0")
    assert lean_sender(client) is None
    monkeypatch.delenv("DYNAMIGRATE_LEAN_CLIENT")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert lean_sender(dynamodb_client(aws)) is None
    assert lean_sender(object()) is None
    monkeypatch.delenv("HTTP_PROXY")
    required = dynamodb_client(aws)
    required.meta.config.account_id_endpoint_mode = "required"
    assert lean_sender(required) is None


# -- a scripted HTTP server ---------------------------------------------------------------------------


class _Server:
    """Accepts connections and answers each request with the next scripted answer (or closes)."""

    def __init__(self, answers: list[bytes | None]):
        self.answers = answers
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while self.answers:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        break
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + rest)
                    answer = self.answers.pop(0)
                    if answer is None:
                        break  # close this connection without answering
                    conn.sendall(answer)

    def close(self) -> None:
        self.sock.close()


def _answer(body: bytes, status: str = "200 OK", crc: int | None = None, chunked: bool = False) -> bytes:
    crc_value = zlib.crc32(body) & 0xFFFFFFFF if crc is None else crc
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: {crc_value}\r\n"
    if chunked:
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:5], body[5:]) if p) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + payload
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture
def server_factory() -> Iterator[Any]:
    servers: list[_Server] = []

    def make(answers: list[bytes | None]) -> tuple[_Server, LeanSender]:
        server = _Server(answers)
        servers.append(server)
        creds = botocore.credentials.Credentials("AKID", "SECRET")
        sender = LeanSender(
            endpoint=f"http://127.0.0.1:{server.port}", region="us-east-1", credentials=creds, read_timeout=5
        )
        return server, sender

    yield make
    for s in servers:
        s.close()


def test_answers_chunked_and_errors(server_factory: Any) -> None:
    failed = (
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",'
        b'"message":"The conditional request failed","Item":{"PK":{"S":"k"},"b":{"B":"AAH/"},'
        b'"m":{"M":{"bs":{"BS":["AA=="]}}}}}'
    )
    server, sender = server_factory(
        [
            _answer(b'{"Attributes":{"b":{"B":"AAH/"}}}', chunked=True),
            _answer(failed, status="400 Bad Request"),
            _answer(
                b'{"__type":"com.amazon.coral.availability#ThrottlingException","message":"slow"}', "400 X"
            ),
            _answer(b"", status="500 Internal Server Error"),
        ]
    )
    out = sender.put_item(TableName="t", Item={"PK": {"S": "k"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"b": {"B": b"\x00\x01\xff"}}
    with pytest.raises(ClientError) as info:
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert info.value.response["Item"] == {
        "PK": {"S": "k"},
        "b": {"B": b"\x00\x01\xff"},
        "m": {"M": {"bs": {"BS": [b"\x00"]}}},
    }
    with pytest.raises(ClientError) as info:
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})
    assert info.value.response["Error"] == {"Code": "ThrottlingException", "Message": "slow"}
    with pytest.raises(ClientError) as info:
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # one kept-alive connection carried the four requests, each with the body orjson built
    assert len(server.requests) == 4
    assert server.requests[0].split(b"\r\n\r\n", 1)[1] == (
        b'{"TableName":"t","Item":{"PK":{"S":"k"}},"ReturnValues":"ALL_OLD"}'
    )
    assert b"x-amz-target: DynamoDB_20120810.PutItem" in server.requests[0]


def test_batch_and_transaction_answers_decoded(server_factory: Any) -> None:
    cancelled = (
        b'{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"no",'
        b'"CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"c",'
        b'"Item":{"PK":{"B":"AP8="}}}]}'
    )
    server, sender = server_factory(
        [
            _answer(
                b'{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"PK":{"B":"AP8="}}}},'
                b'{"DeleteRequest":{"Key":{"PK":{"BS":["AA=="]}}}}]}}'
            ),
            _answer(cancelled, status="400 Bad Request"),
            _answer(
                b'{"Responses":{"t":[{"PK":{"B":"AP8="},"l":{"L":[{"B":"AA=="}]}}]},'
                b'"UnprocessedKeys":{"t":{"Keys":[{"PK":{"B":"AQ=="}}],"ConsistentRead":true}}}'
            ),
        ]
    )
    out = sender.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"PK": {"B": b"\x00\xff"}}}}]})
    assert out["UnprocessedItems"] == {
        "t": [
            {"PutRequest": {"Item": {"PK": {"B": b"\x00\xff"}}}},
            {"DeleteRequest": {"Key": {"PK": {"BS": [b"\x00"]}}}},
        ]
    }
    with pytest.raises(ClientError) as info:
        sender.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"PK": {"S": "k"}}}}])
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert info.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "c", "Item": {"PK": {"B": b"\x00\xff"}}},
    ]
    # an idempotency token, as botocore adds one to every TransactWriteItems
    assert b'"ClientRequestToken":"' in server.requests[1]
    got = sender.batch_get_item(RequestItems={"t": {"Keys": [{"PK": {"B": b"\x00\xff"}}]}})
    assert got["Responses"] == {"t": [{"PK": {"B": b"\x00\xff"}, "l": {"L": [{"B": b"\x00"}]}}]}
    assert got["UnprocessedKeys"] == {"t": {"Keys": [{"PK": {"B": b"\x01"}}], "ConsistentRead": True}}


def test_crc_mismatch_and_closed_connections(server_factory: Any) -> None:
    _server, sender = server_factory(
        [
            _answer(b"{}", crc=12345),
            _answer(b"{}"),
            None,  # the server closes the kept-alive connection: the sender retries once, fresh
            _answer(b"{}"),
        ]
    )
    with pytest.raises(ConnectionClosedError) as info:
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})
    assert "CRC32" in str(info.value.kwargs["error"])  # transient for the writer: retried
    assert (
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    assert (
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    sender.close()


def test_nothing_listening_is_a_connection_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    creds = botocore.credentials.Credentials("AKID", "SECRET")
    sender = LeanSender(endpoint=f"http://127.0.0.1:{port}", region="us-east-1", credentials=creds)
    with pytest.raises(ConnectionClosedError):
        sender.put_item(TableName="t", Item={"PK": {"S": "k"}})
