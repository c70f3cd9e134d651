"""DynamoDB request bodies built with orjson, sent through botocore's own client.

botocore serializes a DynamoDB request by walking the operation's input shape value by value
(``JSONSerializer._serialize``) and then ``json.dumps``: 38% of the client CPU of a load (issue 13,
22-49 us per item). DynamoDB's JSON protocol maps every member of a data-plane request one to one
onto the body, with binary values as base64 text, so for those operations the request dict *is* the
body: one ``orjson.dumps`` with a base64 default for bytes builds the same JSON (equal after parsing;
the bytes differ only in whitespace and in non-ASCII text sent as UTF-8 instead of ``\\uXXXX``
escapes, both valid JSON to DynamoDB).

:func:`install` wraps a client's serializer: the data-plane operations in :data:`FAST_OPERATIONS`
get their body from orjson, everything else (and anything orjson refuses, e.g. a lone surrogate)
goes to botocore's serializer unchanged. Parameter validation (when the client has it on), the
endpoint rules, SigV4 signing, the HTTP session, retries, response parsing and the modeled error
fields (``Item``, ``CancellationReasons``) all stay botocore's.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

try:
    import orjson
except ImportError:  # e.g. a Glue job given only the package zip: the json paths (same bytes, slower)
    orjson = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Operations whose request members serialize one to one (no timestamps, no renamed members).
FAST_OPERATIONS = frozenset(
    {
        "PutItem",
        "DeleteItem",
        "UpdateItem",
        "GetItem",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactGetItems",
        "Query",
        "Scan",
    }
)


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(params: Any) -> bytes:
    """The JSON body of a DynamoDB request (binary values as base64, like botocore sends them)."""
    return orjson.dumps(params, default=_default)


class FastJSONSerializer:
    """A botocore request serializer: orjson bodies for :data:`FAST_OPERATIONS`, botocore's otherwise."""

    def __init__(self, inner: Any):
        self.inner = inner
        # botocore wraps the serializer in a ParamValidationDecorator when validation is on
        self._validator = getattr(inner, "_param_validator", None)

    def serialize_to_request(self, parameters: Any, operation_model: Any) -> dict[str, Any]:
        meta = operation_model.metadata
        if (
            operation_model.name not in FAST_OPERATIONS
            or meta.get("protocol") != "json"
            or operation_model.service_model.is_query_compatible
        ):
            return self.inner.serialize_to_request(parameters, operation_model)
        if self._validator is not None:
            from botocore.exceptions import ParamValidationError

            report = self._validator.validate(parameters, operation_model.input_shape)
            if report.has_errors():
                raise ParamValidationError(report=report.generate_report())
        try:
            body = dumps(parameters)
        except (orjson.JSONEncodeError, TypeError):
            # e.g. a lone surrogate in a string: botocore's serializer decides what happens
            return self.inner.serialize_to_request(parameters, operation_model)
        return {
            "url_path": "/",
            "query_string": "",
            "method": operation_model.http.get("method", "POST"),
            "headers": {
                "X-Amz-Target": f"{meta['targetPrefix']}.{operation_model.name}",
                "Content-Type": f"application/x-amz-json-{meta['jsonVersion']}",
            },
            "body": body,
        }


def install(client: Any) -> Any:
    """Give ``client`` (a botocore DynamoDB client) the orjson serializer; returns the client."""
    current = getattr(client, "_serializer", None)
    if orjson is None or current is None:
        log.debug("orjson or the client's _serializer missing: botocore's serialization stays")
        return client
    if not isinstance(current, FastJSONSerializer):
        client._serializer = FastJSONSerializer(current)
    return client
