"""What the agent mutations share: error codes, the payload, and the checked fields of an agent."""

from __future__ import annotations

import strawberry

from gateway.core.rules import reject
from resolvers.actions.common import USER_ERRORS, Outcome, typed_errors
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.enterprise.agentkit import Agent

MAX_KIND = 50
MAX_MODEL = 100


# The codes the agent mutations may answer in `userErrors`; `typed_errors` refuses others.
AGENT_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.INVALID_NAME,
    UserErrorCode.INVALID_KIND,
    UserErrorCode.INVALID_MODEL,
    UserErrorCode.INVALID_JSON,
    UserErrorCode.NOTHING_TO_UPDATE,
)


@strawberry.type(description="Why an agent change did not apply. Nothing was changed.")
class AgentError(UserError):
    """Fields from `UserError`; the code is one of `AGENT_CODES`."""


@strawberry.type(description="Result of creating or changing an agent.")
class AgentPayload:
    agent: Agent | None = strawberry.field(description="The agent after the change.")
    user_errors: list[AgentError] = strawberry.field(description=USER_ERRORS)


def agent_payload(outcome: Outcome) -> AgentPayload:
    return AgentPayload(
        agent=outcome.built("agent", Agent.from_doc),
        user_errors=typed_errors(outcome.errors, AgentError, AGENT_CODES),
    )


def label(value: str, code: str, field: str, limit: int) -> str:
    """A short label (kind, model): trimmed, 1 to `limit` characters."""
    text = value.strip()
    if not text or len(text) > limit:
        raise reject(code, f"{field} must be 1 to {limit} characters", field)
    return text
