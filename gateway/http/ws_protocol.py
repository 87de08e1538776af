"""The `graphql-transport-ws` protocol: its close codes and the client's messages, read and checked.

A message that breaks the protocol raises `ProtocolViolation`, which closes the socket with its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

PROTOCOL = "graphql-transport-ws"

# Close codes of the protocol, and the gateway's own.
BAD_MESSAGE = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
INIT_TIMEOUT = 4408
DUPLICATE_ID = 4409
TOO_MANY_INITS = 4429
GOING_AWAY = 1001
POLICY_VIOLATION = 1008  # too many connections for one principal
INTERNAL_ERROR = 1011
# A slow consumer, closed rather than buffered without bound; or too many sockets waiting to authenticate.
TRY_AGAIN_LATER = 1013


class ProtocolViolation(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def read_message(text: str) -> dict[str, Any]:
    """A client's message: a JSON object with a `type`."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolViolation(BAD_MESSAGE, "invalid message received: not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolViolation(BAD_MESSAGE, "invalid message received: no type")
    return message


def complete_id(message: dict[str, Any]) -> str:
    """The operation a `complete` message ends."""
    operation_id = message.get("id")
    if not isinstance(operation_id, str):
        raise ProtocolViolation(BAD_MESSAGE, "invalid message received: complete without an id")
    return operation_id


@dataclass(frozen=True)
class Subscribe:
    """A `subscribe` message's operation: its id and what its payload names."""

    id: str
    query: str | None
    document_id: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def read_subscribe(message: dict[str, Any]) -> Subscribe:
    """The operation of a `subscribe` message, its payload checked."""
    operation_id = message.get("id")
    payload = message.get("payload")
    if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
        raise ProtocolViolation(BAD_MESSAGE, "invalid message received: subscribe needs an id and a payload")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    extensions = payload.get("extensions")
    document_id = payload.get("documentId")  # a trusted document (or an APQ hash in `extensions`) instead
    if (
        not isinstance(query, str | None)
        or not isinstance(document_id, str | None)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        raise ProtocolViolation(BAD_MESSAGE, "invalid message received: malformed subscribe payload")
    return Subscribe(operation_id, query, document_id, variables, operation_name, extensions)


def error(operation_id: str, payload: list[dict[str, Any]]) -> dict[str, Any]:
    """An `error` message ending the operation `operation_id`."""
    return {"id": operation_id, "type": "error", "payload": payload}
