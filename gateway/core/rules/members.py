"""Who may change a member's role or remove a member, so that an organization always keeps an owner.

Ranks are the enterprise roles, most privileged first: owner, admin, analyst, member.
Managing members needs the admin or owner role (a permission). On top of it:

- only an owner grants the owner role, and only an owner demotes or removes an owner;
- nobody raises their own role (an admin cannot make themselves owner);
- the last owner can be neither demoted nor removed: someone must be made owner first (a disabled
  account is no owner to fall back on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.core.rules import reject

RANKS = {"owner": 0, "admin": 1, "analyst": 2, "member": 3}
FIELD = "memberId"


def rank(roles: Iterable[str]) -> int:
    """The rank of the most privileged role held (lower is more privileged); past the last without one."""
    return min((RANKS[role] for role in roles if role in RANKS), default=len(RANKS))


@dataclass(frozen=True)
class Change:
    """A role change or removal as the rules see it."""

    caller_is_owner: bool  # the caller holds the owner role
    is_self: bool  # the member is the caller
    current: tuple[str, ...]  # the member's enterprise roles now
    other_owners: int  # active accounts of the organization holding the owner role, the member left out


def _check_owner_touch(change: Change, new_role: str | None) -> None:
    touches_owner = "owner" in change.current or new_role == "owner"
    if touches_owner and not change.caller_is_owner:
        raise reject("OWNER_REQUIRED", "only an owner grants, revokes or removes the owner role", FIELD)


def check_last_owner(change: Change, new_role: str | None) -> None:
    if "owner" in change.current and new_role != "owner" and change.other_owners == 0:
        raise reject(
            "LAST_OWNER", "the organization's last owner cannot be demoted or removed; make someone owner first", FIELD
        )


def check_role_change(change: Change, new_role: str) -> None:
    """Raise unless the member may get `new_role` (their only role afterwards)."""
    if change.current == (new_role,):
        raise reject("NOTHING_TO_UPDATE", f"the member already has the role {new_role}", "role")
    if change.is_self and RANKS[new_role] < rank(change.current):
        raise reject("SELF_PROMOTION", "you cannot raise your own role", "role")
    _check_owner_touch(change, new_role)
    check_last_owner(change, new_role)


def check_removal(change: Change) -> None:
    """Raise unless the member may be removed."""
    _check_owner_touch(change, None)
    check_last_owner(change, None)
