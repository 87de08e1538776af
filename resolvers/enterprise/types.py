"""GraphQL types of the enterprise store (MongoDB).

Documents reference each other by 24-hex strings (`workflow_id`, `agent_id`,
`invited_by`); every such reference resolves through a per-request dataloader
of `gateway.data.enterprise`, never by a query per object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

import strawberry
from strawberry import Info

from gateway.core.context import RequestContext
from gateway.data.brain.users import BrainUser
from gateway.data.enterprise import invitations, members
from gateway.data.enterprise.members import MemberRow
from gateway.stores.mongo import Document
from resolvers.common import targets
from resolvers.common.enums import ActorKind, actor_kind
from resolvers.common.objects import WHOLE, attribute, builder, doc_builder, get
from resolvers.common.relay import (
    Node,
    node_id,
    node_ids,
)
from resolvers.common.scalars import JSON, Money
from resolvers.enterprise.enums import (
    AnalyticsPeriod,
    BillingSubscriptionStatus,
    BrainRole,
    ComplianceCheckStatus,
    ComplianceFramework,
    EnterpriseRole,
    InvitationRole,
    InvitationStatus,
    MemberStatus,
    Plan,
    QuotaResource,
    analytics_period,
    brain_role,
    compliance_framework,
    compliance_status,
    enterprise_role,
    invitation_role,
    invitation_status,
    member_status,
    plan,
    quota_resource,
    subscription_status,
)

Ctx = Info[RequestContext, None]


# --- billing ---------------------------------------------------------------------------------


@strawberry.type(description="An organization's billing subscription.")
class BillingSubscription(Node):
    plan: Plan = strawberry.field(description="Plan billed by this subscription.")
    status: BillingSubscriptionStatus = strawberry.field(description="Billing state.")
    seats: int = strawberry.field(description="Number of paid seats.")
    price: Money = strawberry.field(description="Price per billing period.")
    current_period_start: dt.datetime = strawberry.field(description="Start of the current billing period.")
    current_period_end: dt.datetime = strawberry.field(description="End of the current billing period.")

    @classmethod
    def from_doc(cls, doc: Document) -> BillingSubscription:
        return _new_billing_subscription(
            id=node_id("BillingSubscription", doc["_id"]),
            plan=plan(doc["plan"]),
            status=subscription_status(doc["status"]),
            seats=int(doc["seats"]),
            price=Money.from_cents(int(doc["amount_cents"]), doc["currency"]),
            current_period_start=doc["current_period_start"],
            current_period_end=doc["current_period_end"],
        )


_new_billing_subscription = builder(BillingSubscription)


# --- people ----------------------------------------------------------------------------------


@strawberry.type(
    description="A person in the organization, joined across both stores by e-mail address: an enterprise "
    "account (MongoDB `users`), a Brain account (PostgreSQL `users`), or both."
)
class Member(Node):
    email: str = strawberry.field(description="E-mail address; joins the member's accounts across both stores.")
    name: str | None = strawberry.field(description="Display name (the enterprise account's, else the Brain one's).")
    enterprise_roles: list[EnterpriseRole] = strawberry.field(
        description="Roles on the enterprise platform; empty without an enterprise account."
    )
    brain_role: BrainRole | None = strawberry.field(
        description="Role in the Brain app; null without a Brain account or when the Brain store could not be asked."
    )
    status: MemberStatus | None = strawberry.field(
        description="State of the enterprise account; null without an enterprise account."
    )
    last_login_at: dt.datetime | None = strawberry.field(
        description="Last sign-in to the enterprise platform; null if never."
    )
    has_enterprise_account: bool = strawberry.field(description="True when the member has an enterprise account.")
    has_brain_account: bool | None = strawberry.field(
        description="True when the member has a Brain account; null when the Brain store could not be asked."
    )

    from_row: ClassVar[Callable[[MemberRow], Member]]


def member_id(enterprise: Document | None, brain: BrainUser | None) -> strawberry.ID:
    """An opaque, stable id that does not reveal the e-mail address: the enterprise account's id, else the
    Brain account's (`u:` and `b:` tell them apart when `node(id)` resolves it)."""
    if enterprise is not None:
        return node_id("Member", f"u:{enterprise['_id']}")
    assert brain is not None, "a member has at least one account"
    return node_id("Member", f"b:{brain.id}")


def _enterprise_roles(account: Document | None) -> list[EnterpriseRole]:
    return [enterprise_role(r) for r in (account or {}).get("roles") or []]


def _brain_role(brain: BrainUser | None) -> BrainRole | None:
    return brain_role(brain.role) if brain else None


def _account_status(account: Document | None) -> MemberStatus | None:
    status = (account or {}).get("status")
    return None if status is None else member_status(status)


def _last_login(account: Document | None) -> dt.datetime | None:
    return (account or {}).get("last_login_at")


def _is_present(account: Document | None) -> bool:
    return account is not None


def _has_brain_account(brain: BrainUser | None, known: bool) -> bool | None:
    return (brain is not None) if known else None


# A member row is the join of both stores' accounts (`gateway.data.enterprise.members`).
Member.from_row = doc_builder(
    Member,
    id=(member_id, attribute("enterprise"), attribute("brain")),
    email=attribute("email"),
    name=attribute("name"),
    enterprise_roles=(_enterprise_roles, attribute("enterprise")),
    brain_role=(_brain_role, attribute("brain")),
    status=(_account_status, attribute("enterprise")),
    last_login_at=(_last_login, attribute("enterprise")),
    has_enterprise_account=(_is_present, attribute("enterprise")),
    has_brain_account=(_has_brain_account, attribute("brain"), attribute("brain_known")),
)


@strawberry.type(
    description="An invitation to join the organization, sent by e-mail. Its secret token is never exposed."
)
class Invitation(Node):
    invited_by_id: strawberry.Private[str | None]
    email: str = strawberry.field(description="Address the invitation was sent to.")
    role: InvitationRole = strawberry.field(description="Enterprise role the invitee gets on accepting.")
    status: InvitationStatus = strawberry.field(
        description="Whether the invitation is still open; `EXPIRED` once `expiresAt` has passed unanswered."
    )
    expires_at: dt.datetime = strawberry.field(description="When the invitation stops being accepted.")
    created_at: dt.datetime | None = strawberry.field(description="When the invitation was sent.")

    from_doc: ClassVar[Callable[[Document], Invitation]]

    @strawberry.field(description="The member who sent the invitation; null when unknown or no longer a member.")
    async def invited_by(self, info: Ctx) -> Member | None:
        if not self.invited_by_id:
            return None
        user = await info.context.loader(members.users_by_id).load(self.invited_by_id)
        if user is None:
            return None
        row = await members.member(info.context, user["email"], user)
        return Member.from_row(row) if row else None


Invitation.from_doc = doc_builder(
    Invitation,
    id=(node_ids("Invitation"), "_id"),
    invited_by_id=get("invited_by"),
    email="email",
    role=(invitation_role, "role"),
    status=(lambda doc: invitation_status(invitations.status_of(doc)), WHOLE),
    expires_at="expires_at",
    created_at=get("created_at"),
)


# --- audit and compliance --------------------------------------------------------------------


@strawberry.type(description="Who performed an audited action.")
class AuditActor:
    kind: ActorKind = strawberry.field(description="A person, a partner integration or the platform.")
    id: str = strawberry.field(description="The actor's identifier: an OIDC subject or a partner client id.")
    email: str | None = strawberry.field(description="The actor's e-mail address, for people.")


@strawberry.type(description="What an audited action was performed on.")
class AuditTarget:
    type: str = strawberry.field(description="Kind of object, e.g. `Organization`, `Campaign`.")
    id: str = strawberry.field(description="The object's identifier in its store.")


@strawberry.type(description="One entry of the organization's audit trail. Entries are never changed.")
class AuditLog(Node):
    actor: AuditActor = strawberry.field(description="Who did it.")
    action: str = strawberry.field(description="What was done, e.g. `campaign.budget_updated`.")
    target_ref: AuditTarget | None = strawberry.field(
        description="What it was done to, as stored: the type name and that store's raw id (kept for a target "
        "outside both stores, or one deleted since); null for actions without one."
    )
    details: JSON | None = strawberry.field(description="Action-specific facts, e.g. old and new values.")
    request_id: str | None = strawberry.field(description="Id of the API request that caused the action.")
    event_id: str = strawberry.field(description="Unique id of the event; deduplicates redelivered events.")
    created_at: dt.datetime = strawberry.field(description="When it happened.")

    from_doc: ClassVar[Callable[[Document], AuditLog]]

    @strawberry.field(
        description="What it was done to, as `node(id:)` reads it; null for actions without one, once it no "
        "longer exists, or when it lives outside both stores (then `targetRef` still names it)."
    )
    async def target(self, info: Info[RequestContext, None]) -> Node | None:
        ref = self.target_ref
        return await targets.target(info.context, ref.type, ref.id) if ref is not None else None


def _actor(actor: Document | None) -> AuditActor:
    found = actor or {}
    return AuditActor(
        kind=actor_kind(found.get("kind", "system")), id=str(found.get("id", "")), email=found.get("email")
    )


def _target(target: Document | None) -> AuditTarget | None:
    return AuditTarget(type=target["type"], id=str(target["id"])) if target else None


AuditLog.from_doc = doc_builder(
    AuditLog,
    id=(node_ids("AuditLog"), "_id"),
    actor=(_actor, get("actor")),
    action="action",
    target_ref=(_target, get("target")),
    details=get("details"),
    request_id=get("request_id"),
    event_id="event_id",
    created_at="at",
)


@strawberry.type(description="The latest automated check of one compliance control.")
class ComplianceCheck(Node):
    framework: ComplianceFramework = strawberry.field(description="Framework the control belongs to.")
    control: str = strawberry.field(description="The control's reference in its framework, e.g. `CC6.1`.")
    status: ComplianceCheckStatus = strawberry.field(description="Outcome of the check.")
    evidence: str | None = strawberry.field(description="What the check looked at.")
    checked_at: dt.datetime | None = strawberry.field(description="When the check ran.")

    from_doc: ClassVar[Callable[[Document], ComplianceCheck]]


ComplianceCheck.from_doc = doc_builder(
    ComplianceCheck,
    id=(node_ids("ComplianceCheck"), "_id"),
    framework=(compliance_framework, "framework"),
    control="control",
    status=(compliance_status, "status"),
    evidence=get("evidence"),
    checked_at=get("checked_at"),
)


# --- analytics and quotas --------------------------------------------------------------------


def _as_date(value: dt.datetime | dt.date) -> dt.date:
    # Points are stored at midnight UTC; the client is tz-aware, so `.date()` is the UTC day.
    return value.date() if isinstance(value, dt.datetime) else value


@strawberry.type(description="One value of an analytics series for one period.")
class AnalyticsPoint(Node):
    metric: str = strawberry.field(description="What is measured, e.g. `sessions`, `signups`, `mrr_cents`.")
    dimensions: JSON = strawberry.field(description='The slice the value covers, e.g. `{"source": "all"}`.')
    period: AnalyticsPeriod = strawberry.field(description="Granularity of the value.")
    date: dt.date = strawberry.field(description="First day of the period the value covers.")
    value: float = strawberry.field(description="The measured value.")

    @classmethod
    def from_doc(cls, doc: Document) -> AnalyticsPoint:
        return _new_analytics_point(
            id=node_id("AnalyticsPoint", doc["_id"]),
            metric=doc["metric"],
            dimensions=JSON(doc.get("dimensions") or {}),
            period=analytics_period(doc["period"]),
            date=_as_date(doc["date"]),
            value=float(doc["value"]),
        )


_new_analytics_point = builder(AnalyticsPoint)


@strawberry.type(description="How much of a metered resource the organization may use in a period, and has used.")
class UsageQuota(Node):
    resource: QuotaResource = strawberry.field(description="The metered resource.")
    limit: int = strawberry.field(description="Allowed use in the period.")
    used: int = strawberry.field(description="Use so far in the period.")
    period_start: dt.datetime = strawberry.field(description="Start of the quota period.")
    period_end: dt.datetime = strawberry.field(description="End of the quota period, when use resets.")

    @classmethod
    def from_doc(cls, doc: Document) -> UsageQuota:
        return _new_usage_quota(
            id=node_id("UsageQuota", doc["_id"]),
            resource=quota_resource(doc["resource"]),
            limit=int(doc["limit"]),
            used=int(doc["used"]),
            period_start=doc["period_start"],
            period_end=doc["period_end"],
        )

    @strawberry.field(description="Use left in the period: `limit - used`, never below zero.")
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


_new_usage_quota = builder(UsageQuota)
