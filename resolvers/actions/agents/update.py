"""updateAgent and setAgentEnabled: edit an agent, or switch it off and on."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import reject, text
from gateway.data.enterprise import agents
from gateway.stores.mongo import Document
from resolvers.actions.agents.common import MAX_KIND, MAX_MODEL, AgentPayload, agent_payload, label
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, parse_object_id
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.common.scalars import JSON

PERMISSION = Permission.MANAGE_WORKFLOWS
FIELD = "agentId"


@strawberry.input(description="Edit an agent. Only fields given change.")
class UpdateAgentInput:
    agent_id: strawberry.ID = strawberry.field(description="The agent.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    kind: str | None = strawberry.field(default=None, description="New kind.")
    model: str | None = strawberry.field(default=None, description="New language model.")
    config: JSON | None = strawberry.field(default=None, description="New model settings, replacing all.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(description="Switch an agent off or on.")
class SetAgentEnabledInput:
    agent_id: strawberry.ID = strawberry.field(description="The agent.")
    enabled: bool = strawberry.field(
        description="False switches the agent off: workflows with a step of it refuse to run (`AGENT_DISABLED`)."
    )
    idempotency_key: str | None = IdempotencyKey


def _changes(data: UpdateAgentInput) -> Document:
    changes: Document = {}
    if data.name is not None:
        changes["name"] = text.name(data.name)
    if data.kind is not None:
        changes["kind"] = label(data.kind, "INVALID_KIND", "kind", MAX_KIND)
    if data.model is not None:
        changes["model"] = label(data.model, "INVALID_MODEL", "model", MAX_MODEL)
    if data.config is not None:
        changes["config"] = text.json_object(data.config, "config")
    if not changes:
        raise reject("NOTHING_TO_UPDATE", "give at least one of name, kind, model, config", None)
    return changes


async def _apply(w: Writes, agent_id: strawberry.ID, changed: Callable[[], Document], action: str) -> Outcome:
    """Apply the changes `changed` makes, checked once the agent is known to be the caller's."""
    raw_id = parse_object_id(agent_id, "Agent", FIELD)
    if await agents.find(w, raw_id) is None:
        raise reject("NOT_FOUND", "no such agent in your organization", FIELD)
    changes = changed()
    audit = Audit(action, "Agent", str(raw_id), {"changed": sorted(changes), **changes})
    updated = await agents.change(w, raw_id, changes, audit)
    if updated is None:
        raise reject("NOT_FOUND", "the agent disappeared meanwhile", FIELD)
    return Outcome(rows={"agent": updated})


async def _update(data: UpdateAgentInput, w: Writes) -> Outcome:
    return await _apply(w, data.agent_id, partial(_changes, data), "agent.updated")


async def _set_enabled(data: SetAgentEnabledInput, w: Writes) -> Outcome:
    action = "agent.enabled" if data.enabled else "agent.disabled"
    return await _apply(w, data.agent_id, lambda: {"enabled": data.enabled}, action)


async def update_agent(
    info: Ctx, input: Annotated[UpdateAgentInput, strawberry.argument(description="The edit.")]
) -> AgentPayload:
    outcome = await run_enterprise_mutation(
        info, operation="updateAgent", permission=PERMISSION, input=input, perform=partial(_update, input)
    )
    return agent_payload(outcome)


async def set_agent_enabled(
    info: Ctx, input: Annotated[SetAgentEnabledInput, strawberry.argument(description="Which agent, on or off.")]
) -> AgentPayload:
    outcome = await run_enterprise_mutation(
        info, operation="setAgentEnabled", permission=PERMISSION, input=input, perform=partial(_set_enabled, input)
    )
    return agent_payload(outcome)


mutation = strawberry.mutation(
    resolver=update_agent,
    description="Edit an agent's name, kind, model or configuration. Needs the admin or owner role.",
)
set_enabled = strawberry.mutation(
    resolver=set_agent_enabled,
    description="Switch an agent off or on. While it is off, every workflow with a step of it refuses to run "
    "(`runWorkflow` and `retryExecution` answer `AGENT_DISABLED`); runs already queued are not touched. "
    "Needs the admin or owner role.",
)
