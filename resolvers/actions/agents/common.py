"""What the agent mutations share: error codes, the payload, and the checked fields of an agent."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.core.rules import reject
from resolvers.actions.common import USER_ERRORS, Outcome, typed_errors
from resolvers.actions.errors import UserError
from resolvers.enterprise.agentkit import Agent

MAX_KIND = 50
MAX_MODEL = 100


@strawberry.enum(description="Why an agent change did not apply.")
class AgentErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The agent does not exist in your organization.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is empty or too long.")
    INVALID_KIND = strawberry.enum_value("INVALID_KIND", description="The kind is empty or too long.")
    INVALID_MODEL = strawberry.enum_value("INVALID_MODEL", description="The model is empty or too long.")
    INVALID_JSON = strawberry.enum_value(
        "INVALID_JSON", description="The configuration is not a JSON object, too deep, too large or has forbidden keys."
    )
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The update changes nothing.")


@strawberry.type(description="Why an agent change did not apply. Nothing was changed.")
class AgentError(UserError):
    """Fields from `UserError`; the code is one of `AgentErrorCode`."""


@strawberry.type(description="Result of creating or changing an agent.")
class AgentPayload:
    agent: Agent | None = strawberry.field(description="The agent after the change.")
    user_errors: list[AgentError] = strawberry.field(description=USER_ERRORS)


def agent_payload(outcome: Outcome) -> AgentPayload:
    return AgentPayload(
        agent=outcome.built("agent", Agent.from_doc),
        user_errors=typed_errors(outcome.errors, AgentError, AgentErrorCode),
    )


def label(value: str, code: str, field: str, limit: int) -> str:
    """A short label (kind, model): trimmed, 1 to `limit` characters."""
    text = value.strip()
    if not text or len(text) > limit:
        raise reject(code, f"{field} must be 1 to {limit} characters", field)
    return text
