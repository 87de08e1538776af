"""Team mutations (MongoDB): invite, revoke, accept."""

from __future__ import annotations

import strawberry

from resolvers.actions.team import accept, invite, revoke


@strawberry.type
class TeamMutations:
    invite_team_member = invite.mutation
    revoke_invitation = revoke.mutation
    accept_invitation = accept.mutation
