"""createAgent: a new agent of the organization, enabled."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.permissions import Permission
from gateway.core.rules import text
from gateway.core.rules.text import MAX_NAME
from gateway.data.enterprise import agents
from resolvers.actions.agents.common import MAX_KIND, MAX_MODEL, AgentPayload, agent_payload, label
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome
from resolvers.actions.enterprise import run_enterprise_mutation
from resolvers.common.scalars import JSON

PERMISSION = Permission.MANAGE_WORKFLOWS


@strawberry.input(description="Create an agent; it starts enabled.")
class CreateAgentInput:
    name: str = strawberry.field(description=f"Display name, 1 to {MAX_NAME} characters.")
    kind: str = strawberry.field(description=f"What the agent does, e.g. `optimizer`; 1 to {MAX_KIND} characters.")
    model: str = strawberry.field(description=f"The language model, e.g. `gpt-4o`; 1 to {MAX_MODEL} characters.")
    config: JSON | None = strawberry.field(
        default=None, description='Model settings, a JSON object, e.g. `{"temperature": 0.2}`.'
    )
    idempotency_key: str | None = IdempotencyKey


async def _create(info: Ctx, data: CreateAgentInput, w: Writes) -> Outcome:
    doc = agents.new_agent(
        text.name(data.name),
        label(data.kind, "INVALID_KIND", "kind", MAX_KIND),
        label(data.model, "INVALID_MODEL", "model", MAX_MODEL),
        text.json_object(data.config, "config"),
        info.context.principal.subject,
    )
    audit = Audit("agent.created", "Agent", str(doc["_id"]), {"name": doc["name"], "kind": doc["kind"]})
    return Outcome(rows={"agent": await agents.create(w, doc, audit)})


async def create_agent(
    info: Ctx, input: Annotated[CreateAgentInput, strawberry.argument(description="The agent.")]
) -> AgentPayload:
    outcome = await run_enterprise_mutation(
        info, operation="createAgent", permission=PERMISSION, input=input, perform=partial(_create, info, input)
    )
    return agent_payload(outcome)


mutation = strawberry.mutation(
    resolver=create_agent, description="Create an enabled agent for workflow steps. Needs the admin or owner role."
)
