"""Who calls: what a verified token says of its bearer (built by gateway.core.auth, read by the
permission table and everything above)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.core.tenancy import OrgRef


@dataclass(frozen=True)
class Principal:
    """Who calls. `kind` is `user` (a member), `partner` (client credentials) or `invitee`:
    a person whose `sub` is no member of any organization and whose token names none. An
    invitee's `organization` is `NO_ORGANIZATION`; accepting an invitation takes the
    organization from the invitation."""

    subject: str
    issuer: str
    kind: Literal["user", "partner", "invitee"]
    organization: OrgRef
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    email: str | None = None
    email_verified: bool | None = None  # the token's `email_verified`, when it has one

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
