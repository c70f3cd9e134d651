"""The writers' DynamoDB calls without botocore's per-call machinery (PutItem, BatchWriteItem,
TransactWriteItems, BatchGetItem; and validation's Scan and BatchGetItem).

A botocore ``put_item`` costs ~0.9-1 ms of Python per call on this project's machine (issue 13):
about 20 event emissions, SigV4 through ``AWSRequest`` objects, http.client with the email header
parser, the endpoint rules evaluated again, response parsing by shape. With one PutItem per item
(the conditional ``put`` strategy, the default against AWS) that caps a process at ~1,000 items/s.
:class:`LeanSender` sends the same request (orjson body from :mod:`.wire`, the same headers botocore
signs, SigV4 with the client's own credentials) over one keep-alive HTTP/1.1 connection per thread
and parses the answer with orjson: ~100 us of Python per call. The batch calls profit the same way
(~1 ms of botocore per call spread over 25 or 100 items).

It is built from a botocore client and copies what matters of it: endpoint URL, region, credentials
(refreshed through botocore's credential object on every call), timeouts, TLS verification (the same
CA bundle botocore uses). Anything it does not reproduce makes :func:`lean_sender` return None, and the
caller keeps using botocore: an HTTP proxy, ``verify=False``, no credentials, an endpoint that is not
http(s), ``account_id_endpoint_mode='required'``, handlers registered on the client's ``before-send``
event of :data:`OPERATIONS` (e.g. :class:`~dynamigrate.target.faults.FaultInjector`), or
``DYNAMIGRATE_LEAN_CLIENT=0``.

Errors look like botocore's to the rest of the code (``classify`` in :mod:`.retry`): DynamoDB's error
answers raise ``botocore.exceptions.ClientError`` with ``Error.Code``/``Message``, the HTTP status and
the modeled fields (``Item`` of a failed condition, binary values decoded); a broken connection raises
``botocore.exceptions.ConnectionClosedError`` (transient: retried by the writer's RetryPolicy). The
response's CRC32 header is checked like botocore does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
import hmac
import logging
import os
import socket
import ssl
import threading
import time
import uuid
import zlib
from typing import Any, cast
from urllib.parse import urlparse

from dynamigrate.target import wire

log = logging.getLogger(__name__)

TARGET_PREFIX = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
SERVICE = "dynamodb"
ENV_SWITCH = "DYNAMIGRATE_LEAN_CLIENT"


def lean_sender(client: Any) -> LeanSender | None:
    """A :class:`LeanSender` equivalent to ``client``, or None when it cannot be (see module doc)."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        if not _is_botocore_client(client) or wire.orjson is None:
            return None
        if client.meta.service_model.service_name != SERVICE:
            return None
        credentials = client._request_signer._credentials
        http_session = client._endpoint.http_session
        verify = getattr(http_session, "_verify", True)
        proxies = getattr(getattr(http_session, "_proxy_config", None), "_proxies", None)
        url = urlparse(client.meta.endpoint_url)
    except AttributeError:
        return None
    if credentials is None or verify is False or proxies or url.scheme not in ("http", "https"):
        return None
    # endpoint_url already is the FIPS / dual-stack endpoint when configured; an account-based endpoint
    # that is *required* is chosen per request by botocore's rules: leave those calls to botocore
    if str(getattr(client.meta.config, "account_id_endpoint_mode", "") or "").lower() == "required":
        return None
    if _has_handlers(client):
        return None
    config = client.meta.config
    return LeanSender(
        endpoint=client.meta.endpoint_url,
        region=client.meta.region_name,
        credentials=credentials,
        connect_timeout=float(config.connect_timeout or 60),
        read_timeout=float(config.read_timeout or 60),
        verify=verify,
        user_agent=f"dynamigrate-lean {client._client_config.user_agent or 'botocore'}",
        client=client,
    )


def _is_botocore_client(client: Any) -> bool:
    import botocore.client

    return isinstance(client, botocore.client.BaseClient)


#: the operations the writers send through a LeanSender
#: (and validation's key scan and item reads: Scan, BatchGetItem)
OPERATIONS = ("PutItem", "BatchWriteItem", "TransactWriteItems", "BatchGetItem", "Scan")


def _idle_moto_stubber(handler: Any) -> bool:
    """moto registers its stubber on every botocore client once imported (BUILTIN_HANDLERS); outside
    ``mock_aws`` it is disabled and passes requests through, so it does not count as a hook."""
    return type(handler).__name__ == "BotocoreStubber" and getattr(handler, "enabled", True) is False


def _has_handlers(client: Any) -> bool:
    """Whether anything hooks botocore's before-send for the operations a LeanSender would send."""
    try:
        trie = client.meta.events._emitter._handlers
        return any(
            not _idle_moto_stubber(h)
            for op in OPERATIONS
            for h in trie.prefix_search(f"before-send.dynamodb.{op}")
        )
    except AttributeError:
        return True  # cannot tell: stay on botocore


class LeanSender:
    """Signs and sends DynamoDB JSON requests; thread-safe (one connection per thread)."""

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        credentials: Any,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        verify: bool | str = True,
        user_agent: str = "dynamigrate-lean",
        client: Any = None,
    ):
        url = urlparse(endpoint)
        self.endpoint = endpoint
        self.https = url.scheme == "https"
        self.hostname = url.hostname or ""
        self.port = url.port or (443 if self.https else 80)
        default_port = 443 if self.https else 80
        self.host_header = self.hostname if self.port == default_port else f"{self.hostname}:{self.port}"
        if ":" in self.hostname and self.port == default_port:  # IPv6 literal
            self.host_header = f"[{self.hostname}]"
        elif ":" in self.hostname:
            self.host_header = f"[{self.hostname}]:{self.port}"
        self.region = region
        self.credentials = credentials
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.user_agent = user_agent
        self.client = client  # only to notice a FaultInjector attached later
        self._local = threading.local()
        self._open: set[Any] = set()  # every thread's connection, for close()
        self._open_lock = threading.Lock()
        self._keys: tuple[str, str, bytes] | None = None  # (date, secret, signing key)
        self._keys_lock = threading.Lock()
        self._date_cache: tuple[int, str] = (0, "")
        self._canonical_head = f"content-type:{CONTENT_TYPE}\nhost:{self.host_header}\n"
        self._ssl: ssl.SSLContext | None = None
        if self.https:
            from botocore.httpsession import get_cert_path

            cafile = get_cert_path(cast(Any, verify))
            self._ssl = ssl.create_default_context(cafile=cafile if isinstance(cafile, str) else None)

    @property
    def usable(self) -> bool:
        """False once handlers were registered on the client's before-send (fault injection)."""
        return self.client is None or not _has_handlers(self.client)

    # -- signing ---------------------------------------------------------------------------------
    def _signing_key(self, date: str, secret: str) -> bytes:
        keys = self._keys
        if keys is not None and keys[0] == date and keys[1] == secret:
            return keys[2]
        k = hmac.new(("AWS4" + secret).encode("utf-8"), date.encode("ascii"), hashlib.sha256).digest()
        for part in (self.region, SERVICE, "aws4_request"):
            k = hmac.new(k, part.encode("utf-8"), hashlib.sha256).digest()
        with self._keys_lock:
            self._keys = (date, secret, k)
        return k

    def _amz_date(self, now: _dt.datetime | None) -> str:
        if now is not None:
            return now.strftime("%Y%m%dT%H%M%SZ")
        second = int(time.time())
        cached = self._date_cache
        if cached[0] != second:
            cached = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
            self._date_cache = cached
        return cached[1]

    def signed_headers(
        self, target: str, body: bytes, now: _dt.datetime | None = None
    ) -> list[tuple[str, str]]:
        """The headers of a signed request (SigV4, the headers botocore signs for DynamoDB)."""
        creds = self.credentials.get_frozen_credentials()
        amz_date = self._amz_date(now)
        date = amz_date[:8]
        token = creds.token
        # header values are single-line constants (host, target) or generated (date, token): no
        # whitespace to collapse; names sorted as SigV4 wants them
        if token:
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            canonical_headers = (
                f"{self._canonical_head}x-amz-date:{amz_date}\nx-amz-security-token:{token.strip()}\n"
                f"x-amz-target:{target}\n"
            )
        else:
            signed = "content-type;host;x-amz-date;x-amz-target"
            canonical_headers = f"{self._canonical_head}x-amz-date:{amz_date}\nx-amz-target:{target}\n"
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(body).hexdigest()}"
        scope = f"{date}/{self.region}/{SERVICE}/aws4_request"
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        )
        signature = hmac.new(
            self._signing_key(date, creds.secret_key), to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        headers = [
            ("content-type", CONTENT_TYPE),
            ("host", self.host_header),
            ("x-amz-date", amz_date),
        ]
        if token:
            headers.append(("x-amz-security-token", token))
        headers.append(("x-amz-target", target))
        headers.append(
            (
                "authorization",
                f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}",
            )
        )
        return headers

    # -- transport ---------------------------------------------------------------------------------
    def _connect(self) -> tuple[socket.socket, Any]:
        sock = socket.create_connection((self.hostname, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self._ssl is not None:
            sock = self._ssl.wrap_socket(sock, server_hostname=self.hostname)
        sock.settimeout(self.read_timeout)
        conn = (sock, sock.makefile("rb"))
        with self._open_lock:
            self._open.add(conn)
        return conn

    def _close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            self._close_conn(conn)

    def _close_conn(self, conn: Any) -> None:
        with self._open_lock:
            self._open.discard(conn)
        for part in (conn[1], conn[0]):
            with contextlib.suppress(OSError):
                part.close()

    def _exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        from botocore.exceptions import ConnectionClosedError

        for fresh in (False, True):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None and not fresh
            if conn is None or fresh:
                self._close()
                try:
                    conn = self._connect()
                except OSError as exc:
                    raise ConnectionClosedError(endpoint_url=self.endpoint, error=exc) from exc
                self._local.conn = conn
            sock, reader = conn
            try:
                sock.sendall(request)
                status_line = reader.readline(65537)
                if not status_line:
                    raise ConnectionResetError("connection closed before the answer")
            except OSError as exc:
                self._close()
                if reused and not isinstance(exc, TimeoutError):
                    continue  # a kept-alive connection the server had closed: once more, fresh
                raise ConnectionClosedError(endpoint_url=self.endpoint, error=exc) from exc
            try:
                return self._read_response(status_line, reader)
            except (OSError, ValueError) as exc:
                self._close()
                raise ConnectionClosedError(endpoint_url=self.endpoint, error=exc) from exc
        raise AssertionError("unreachable")

    def _read_response(self, status_line: bytes, reader: Any) -> tuple[int, dict[str, str], bytes]:
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError(f"not an HTTP answer: {status_line[:60]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        readline = reader.readline
        while True:
            line = readline(65537)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionResetError("connection closed in the answer's headers")
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(reader.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(reader.read(size))
                reader.readline(8)
            body = b"".join(chunks)
        else:
            length = int(headers.get("content-length", "0"))
            body = reader.read(length) if length else b""
            if len(body) != length:
                raise ConnectionResetError("connection closed in the answer's body")
        if headers.get("connection", "").lower() == "close" or status_line.startswith(b"HTTP/1.0"):
            self._close()
        return status, headers, body

    # -- calls -----------------------------------------------------------------------------------
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB call: the parsed answer (binary values as bytes) or botocore's exceptions."""
        body = wire.dumps(params)
        target = f"{TARGET_PREFIX}.{operation}"
        head = ["POST / HTTP/1.1\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in self.signed_headers(target, body)]
        head.append(f"user-agent: {self.user_agent}\r\ncontent-length: {len(body)}\r\n\r\n")
        status, headers, answer = self._exchange("".join(head).encode("utf-8") + body)
        crc = headers.get("x-amz-crc32")
        if crc is not None and int(crc) != zlib.crc32(answer) & 0xFFFFFFFF:
            from botocore.exceptions import ConnectionClosedError

            self._close()
            raise ConnectionClosedError(
                endpoint_url=self.endpoint, error=f"CRC32 of the answer does not match x-amz-crc32 ({crc})"
            )
        parsed: dict[str, Any] = wire.orjson.loads(answer) if answer else {}
        if status >= 300:
            raise _client_error(operation, status, headers, parsed)
        _decode_response(parsed)
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "RequestId": headers.get("x-amzn-requestid")}
        return parsed

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchWriteItem", params)

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        if "ClientRequestToken" not in params:  # botocore fills this idempotency token itself
            params = {**params, "ClientRequestToken": str(uuid.uuid4())}
        return self.call("TransactWriteItems", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchGetItem", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self.call("Scan", params)

    def close(self) -> None:
        """Close every thread's connection (call when no thread uses the sender any more)."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            self._close_conn(conn)


def _client_error(operation: str, status: int, headers: dict[str, str], parsed: dict[str, Any]) -> Exception:
    from botocore.exceptions import ClientError

    code = str(parsed.get("__type") or "").rpartition("#")[2] or (
        "InternalServerError" if status >= 500 else f"HTTP{status}"
    )
    message = parsed.get("message") or parsed.get("Message") or ""
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": headers.get("x-amzn-requestid")},
    }
    if "Item" in parsed:
        response["Item"] = decode_item(parsed["Item"])
    if "CancellationReasons" in parsed:
        reasons = parsed["CancellationReasons"]
        for reason in reasons:
            if "Item" in reason:
                reason["Item"] = decode_item(reason["Item"])
        response["CancellationReasons"] = reasons
    return ClientError(response, operation)  # type: ignore[arg-type]


def _decode_response(parsed: dict[str, Any]) -> None:
    """Binary values of the answers the writers read, as bytes (in place)."""
    for name in ("Attributes", "Item", "LastEvaluatedKey"):
        if name in parsed:
            parsed[name] = decode_item(parsed[name])
    if "Items" in parsed:  # Scan
        parsed["Items"] = [decode_item(i) for i in parsed["Items"]]
    for requests in (parsed.get("UnprocessedItems") or {}).values():
        for request in requests:
            for kind, field in (("PutRequest", "Item"), ("DeleteRequest", "Key")):
                if kind in request:
                    request[kind][field] = decode_item(request[kind][field])
    for name, items in (parsed.get("Responses") or {}).items():
        parsed["Responses"][name] = [decode_item(i) for i in items]
    for keys in (parsed.get("UnprocessedKeys") or {}).values():
        keys["Keys"] = [decode_item(k) for k in keys.get("Keys") or []]


def _decode_value(v: dict[str, Any]) -> dict[str, Any]:
    ((t, x),) = v.items()
    if t == "B":
        return {"B": base64.b64decode(x)}
    if t == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if t == "M":
        return {"M": {k: _decode_value(e) for k, e in x.items()}}
    if t == "L":
        return {"L": [_decode_value(e) for e in x]}
    return v


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item from DynamoDB's JSON with binary values as bytes (what botocore's parser returns)."""
    return {k: _decode_value(v) for k, v in item.items()}
