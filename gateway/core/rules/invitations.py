"""Who may accept an invitation, and when."""

from __future__ import annotations

import datetime as dt
import hashlib

from gateway.core.rules import Rejected, reject

INVITATION_TTL = dt.timedelta(days=7)
MAX_TOKEN = 200
# Enterprise roles of the account an accepted invitation creates, by invitation role.
ENTERPRISE_ROLES = {"admin": ["admin"], "analyst": ["analyst"], "member": ["member"]}


def token_hash(token: str) -> str:
    """What the store keeps of an invitation's secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def acceptance_error(status: str, expires_at: dt.datetime, moment: dt.datetime, field: str) -> Rejected | None:
    """Why an invitation in `status`, expiring at `expires_at`, cannot be accepted at `moment` (None: it can)."""
    if status == "expired" or (status == "pending" and expires_at <= moment):
        return reject("EXPIRED", "the invitation has expired", field)
    if status != "pending":
        return reject("NOT_PENDING", f"the invitation is {status}, not pending", field)
    return None


def addressed_to(email: str | None, email_verified: bool | None, invited: str) -> bool:
    """Whether a token's e-mail claim is the invited address (and not marked unverified)."""
    address = (email or "").strip().lower()
    return bool(address) and email_verified is not False and address == invited


def check_no_account(kind: str, member_of: str | None, organization_id: str, has_account: bool, field: str) -> None:
    """Only people without an account anywhere join: a member of another organization never joins this
    one, whatever the invitation's state (`member_of`: the organization the caller's token names)."""
    if (kind == "user" and member_of != organization_id) or has_account:
        raise reject("ALREADY_MEMBER", "you already have an account in an organization", field)


def check_address_free(holder_organization: str | None, organization_id: str, email: str, field: str) -> None:
    """The invited address must not belong to an account already (`holder_organization`: that account's)."""
    if holder_organization is None:
        return
    if holder_organization == organization_id:
        raise reject("ALREADY_MEMBER", f"{email} is already a member", field)
    raise reject("EMAIL_IN_USE", f"{email} has an account in another organization", field)
