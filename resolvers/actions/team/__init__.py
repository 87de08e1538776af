"""Team mutations (MongoDB): invite, revoke, resend, accept; change a member's role, remove a member."""

from __future__ import annotations

import strawberry

from resolvers.actions.team import accept, invite, remove, resend, revoke, role


@strawberry.type
class TeamMutations:
    invite_team_member = invite.mutation
    revoke_invitation = revoke.mutation
    accept_invitation = accept.mutation
    resend_invitation = resend.mutation
    change_member_role = role.mutation
    remove_member = remove.mutation
