"""Brain state publication (PostgreSQL): the brain-module service writes a module's new output."""

from __future__ import annotations

import strawberry

from resolvers.actions.brain_states import publish


@strawberry.type
class BrainStateMutations:
    publish_brain_state = publish.mutation
