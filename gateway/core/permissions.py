"""What a principal may do, from its roles (people) or scopes (partners).

One table, used by the resolvers and printed in docs/identity.md. Partners act by
scope only; a role claim in a client-credentials token is ignored. An invitee
(a person who is not a member of any organization yet) may only accept an
invitation addressed to them.
"""

from __future__ import annotations

from enum import Enum

from gateway.core.principal import Principal
from gateway.errors import Forbidden


class Permission(Enum):
    READ_BRAIN = "read marketing data (PostgreSQL)"
    READ_ENTERPRISE = "read enterprise data (MongoDB)"
    READ_SENSITIVE = "read invitations, audit logs and credential metadata"
    RUN_ACTIONS = "pause, resume and archive campaigns and creatives, edit campaigns, change and shift budgets"
    INGEST_METRICS = "run sync jobs and ingest daily metrics"
    MANAGE_TEAM = "invite team members and revoke invitations"
    ACCEPT_INVITATION = "accept an invitation addressed to you"
    MANAGE_WORKFLOWS = "create, update, run and schedule workflows"
    MANAGE_CREDENTIALS = "create, rotate and revoke platform credentials"
    PUBLISH_BRAIN_STATE = "publish Brain module states"
    MANAGE_MEMBERS = "change members' roles and remove members"
    RUN_WORKFLOWS = "run workflows, cancel and retry their executions"
    SYNC_CATALOG = "sync channels, campaigns and creatives by their platform ids"
    REQUEST_SYNC = "queue a platform sync job"
    MANAGE_CHANNELS = "connect, update and disconnect channels"


P = Permission
# Every person may accept: an invitee to join, a member to replay the acceptance that made them one.
_READ = {P.READ_BRAIN, P.READ_ENTERPRISE, P.ACCEPT_INVITATION}
# Brain states are computed by the brain-module service, never typed in by a person.
_ADMIN = set(Permission) - {P.PUBLISH_BRAIN_STATE}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset(_READ),
    "analyst": frozenset(_READ),
    "marketer": frozenset(_READ | {P.RUN_ACTIONS, P.REQUEST_SYNC}),
    "admin": frozenset(_ADMIN),
    "owner": frozenset(_ADMIN),
}

INVITEE_PERMISSIONS: frozenset[Permission] = frozenset({P.ACCEPT_INVITATION})

SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "actions:write": frozenset({P.READ_BRAIN, P.RUN_ACTIONS}),
    "metrics:write": frozenset({P.READ_BRAIN, P.INGEST_METRICS}),
    "brain:write": frozenset({P.READ_BRAIN, P.PUBLISH_BRAIN_STATE}),
    "workflows:run": frozenset({P.RUN_WORKFLOWS}),
    "catalog:write": frozenset({P.READ_BRAIN, P.SYNC_CATALOG}),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    granted: set[Permission] = set()
    if principal.kind == "invitee":
        return INVITEE_PERMISSIONS
    if principal.kind == "partner":
        for scope in principal.scopes:
            granted |= SCOPE_PERMISSIONS.get(scope, frozenset())
    else:
        for role in principal.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def granting(table: dict[str, frozenset[Permission]], permission: Permission) -> list[str]:
    """The roles (or scopes) of `table` that grant `permission`, in the table's order."""
    return [name for name, granted in table.items() if permission in granted]


def require(principal: Principal, permission: Permission) -> None:
    if permission in permissions_of(principal):
        return
    # Say what would be allowed, so a partner or an operator knows which scope or role to ask for.
    if principal.kind == "partner":
        scopes = granting(SCOPE_PERMISSIONS, permission)
        who = (
            f"partner tokens need the scope {' or '.join(scopes)}"
            if scopes
            else "partner tokens cannot do this with any scope"
        )
    elif principal.kind == "invitee":
        who = "you are not a member of an organization yet; accept your invitation first"
    else:
        who = f"your role does not allow it (roles that may: {', '.join(granting(ROLE_PERMISSIONS, permission))})"
    raise Forbidden(f"not allowed to {permission.value}: {who}", permission=permission.name)
