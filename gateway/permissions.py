"""What a principal may do, from its roles (people) or scopes (partners).

One table, used by the resolvers and printed in the README. Partners act by
scope only; a role claim in a client-credentials token is ignored.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from gateway.errors import Forbidden

if TYPE_CHECKING:
    from gateway.auth import Principal


class Permission(Enum):
    READ_BRAIN = "read marketing data (PostgreSQL)"
    READ_ENTERPRISE = "read enterprise data (MongoDB)"
    READ_SENSITIVE = "read invitations, audit logs and credential metadata"
    RUN_ACTIONS = "pause/resume creatives, change and shift budgets"
    INGEST_METRICS = "run sync jobs and ingest daily metrics"
    MANAGE_TEAM = "invite, revoke and accept team invitations"
    MANAGE_WORKFLOWS = "create, update, run and schedule workflows"


P = Permission
_READ = {P.READ_BRAIN, P.READ_ENTERPRISE}
_ADMIN = set(Permission)

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset(_READ),
    "analyst": frozenset(_READ),
    "marketer": frozenset(_READ | {P.RUN_ACTIONS}),
    "admin": frozenset(_ADMIN),
    "owner": frozenset(_ADMIN),
}

SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "actions:write": frozenset({P.READ_BRAIN, P.RUN_ACTIONS}),
    "metrics:write": frozenset({P.READ_BRAIN, P.INGEST_METRICS}),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    granted: set[Permission] = set()
    if principal.kind == "partner":
        for scope in principal.scopes:
            granted |= SCOPE_PERMISSIONS.get(scope, frozenset())
    else:
        for role in principal.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def require(principal: Principal, permission: Permission) -> None:
    if permission not in permissions_of(principal):
        who = "partner tokens need a scope" if principal.kind == "partner" else "your role does not allow it"
        raise Forbidden(f"not allowed to {permission.value}: {who}", permission=permission.name)
