"""Agent mutations (MongoDB): create, update, enable or disable."""

from __future__ import annotations

import strawberry

from resolvers.actions.agents import create, update


@strawberry.type
class AgentMutations:
    create_agent = create.mutation
    update_agent = update.mutation
    set_agent_enabled = update.set_enabled
