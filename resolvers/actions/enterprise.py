"""Enterprise mutations (MongoDB): team invitations and AgentKit workflows."""

from __future__ import annotations

import strawberry


@strawberry.type
class EnterpriseMutations:
    pass
