"""Enterprise mutations (MongoDB): team invitations and AgentKit workflows.

Every mutation goes through `run_enterprise_mutation`: authorization, then the
idempotency key, then `perform`, which validates the input, reads what it
needs and makes one audited change through `Writes` (gateway/core/mongo_mutations.py
explains how the change and its audit event stay together). User errors are
answers, stored under the idempotency key like any other response.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from enum import Enum
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import strawberry
from bson import ObjectId
from croniter import CroniterError, croniter
from pymongo.errors import DuplicateKeyError

from gateway.core.auth import Principal
from gateway.core.context import RequestContext
from gateway.core.idempotency import principal_key, request_hash
from gateway.core.mongo_mutations import (
    MARKER,
    MARKER_COUNT,
    Attempt,
    Audit,
    MongoMutation,
    Pending,
    Writes,
    now,
    without_marker,
)
from gateway.core.permissions import Permission
from gateway.core.realtime import audit_notice
from gateway.errors import Conflict, Forbidden
from gateway.stores.mongo import Document, TenantMongo
from resolvers.actions.common import (
    ERROR_FIELD,
    ERROR_MESSAGE,
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    Rejected,
    actor,
    input_arguments,
    parse_object_id,
    reject,
    typed_errors,
)
from resolvers.common.scalars import JSON
from resolvers.enterprise.types import (
    Invitation,
    InvitationRole,
    ScheduledWorkflow,
    UsageQuota,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)

INVITATION_TTL = dt.timedelta(days=7)
MAX_EMAIL = 254
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_STEPS = 50
MAX_ACTION = 100
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 20
MAX_TOKEN = 200
MAX_TIMEZONE = 64  # the longest IANA zone name has 32 characters
QUOTA_ATTEMPTS = 5
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

Perform = Callable[[Writes], Awaitable[Outcome]]


@strawberry.enum(description="Why a team change (invitation) did not apply.")
class TeamErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT", description="The input combines or omits arguments in a way that is not allowed."
    )
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="The e-mail address is malformed.")
    ALREADY_MEMBER = strawberry.enum_value("ALREADY_MEMBER", description="The person is already a member.")
    EMAIL_IN_USE = strawberry.enum_value(
        "EMAIL_IN_USE", description="The e-mail address has an account in another organization."
    )
    INVITATION_PENDING = strawberry.enum_value(
        "INVITATION_PENDING", description="The person already has a pending invitation."
    )
    QUOTA_EXCEEDED = strawberry.enum_value(
        "QUOTA_EXCEEDED", description="All seats are taken by members and open invitations."
    )
    NOT_PENDING = strawberry.enum_value(
        "NOT_PENDING", description="The invitation was already accepted, revoked or answered meanwhile."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="The invitation has expired.")


@strawberry.type(description="Why a team change (invitation) did not apply. Nothing was changed.")
class TeamError:
    code: TeamErrorCode = strawberry.field(description="Why, as a stable code to switch on.")
    message: str = strawberry.field(description=ERROR_MESSAGE)
    field: str | None = strawberry.field(description=ERROR_FIELD)


@strawberry.enum(description="Why a workflow change or run did not apply.")
class WorkflowErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is empty or too long.")
    INVALID_DESCRIPTION = strawberry.enum_value("INVALID_DESCRIPTION", description="The description is too long.")
    INVALID_JSON = strawberry.enum_value(
        "INVALID_JSON", description="A JSON value is not an object, too deep, too large or has forbidden keys."
    )
    INVALID_STEPS = strawberry.enum_value("INVALID_STEPS", description="The workflow has no steps or too many.")
    INVALID_ACTION = strawberry.enum_value("INVALID_ACTION", description="A step's action is empty or too long.")
    INVALID_CRON = strawberry.enum_value(
        "INVALID_CRON", description="The schedule is not a five-field cron expression."
    )
    INVALID_TIMEZONE = strawberry.enum_value(
        "INVALID_TIMEZONE", description="The time zone is not an IANA time zone name."
    )
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The update changes nothing.")
    WORKFLOW_ARCHIVED = strawberry.enum_value("WORKFLOW_ARCHIVED", description="Archived workflows cannot change.")
    WORKFLOW_NOT_ACTIVE = strawberry.enum_value("WORKFLOW_NOT_ACTIVE", description="Only active workflows run.")
    QUOTA_EXCEEDED = strawberry.enum_value(
        "QUOTA_EXCEEDED", description="The organization has used all workflow runs of this period."
    )


@strawberry.type(description="Why a workflow change or run did not apply. Nothing was changed.")
class WorkflowError:
    code: WorkflowErrorCode = strawberry.field(description="Why, as a stable code to switch on.")
    message: str = strawberry.field(description=ERROR_MESSAGE)
    field: str | None = strawberry.field(description=ERROR_FIELD)


# --- the shared runner -----------------------------------------------------------------------


# Where the object named by an audit event lives, and under which payload key it is answered.
RECOVERABLE_TARGETS = {
    "Invitation": ("team_invitations", "invitation"),
    "Workflow": ("agentkit_workflows", "workflow"),
    "WorkflowExecution": ("agentkit_executions", "execution"),
    "ScheduledWorkflow": ("scheduled_workflows", "schedule"),
}


async def _recovered(tenant: TenantMongo, event: Document) -> dict[str, Any]:
    """The response for a key whose first attempt changed data and then died: the object as it is now."""
    collection, key = RECOVERABLE_TARGETS[event["target"]["type"]]
    doc = await tenant.find_one(collection, {"_id": ObjectId(event["target"]["id"])})
    rows = {key: _public(without_marker(doc))} if doc else {}
    return Outcome(rows=rows).to_snapshot()


async def run_enterprise_mutation(
    info: Ctx,
    *,
    operation: str,
    permission: Permission,
    arguments: dict[str, Any],
    idempotency_key: str | None,
    perform: Perform,
    tenant: TenantMongo | None = None,
) -> Outcome:
    """Run one enterprise mutation in the caller's organization, or in `tenant` when the organization
    comes from the object acted on (an invitee accepting an invitation belongs to none yet)."""
    ctx = info.context
    ctx.require(permission)
    tenant = tenant or ctx.mongo
    mutation = MongoMutation(
        tenant,
        Attempt(actor(ctx), ctx.request_id),
        operation,
        request_hash(operation, arguments),
        principal_key(ctx.principal),
    )

    async def attempt(writes: Writes) -> dict[str, Any]:
        try:
            outcome = await perform(writes)
        except Rejected as rejected:
            if writes.location is not None:
                raise RuntimeError(f"{operation} rejected after changing data") from rejected
            outcome = Outcome(errors=rejected.errors)
        return outcome.to_snapshot()

    snapshot = await mutation.run(idempotency_key, attempt, partial(_recovered, tenant))
    outcome = Outcome.from_snapshot(snapshot)
    if not outcome.errors:
        # A replay announces an event id that was never stored, which subscribers' gateways skip.
        ctx.services.realtime.announce(audit_notice(tenant.organization_id, mutation.attempt.event_id))
    await info.context.after_write()
    return outcome


def _public(doc: Document) -> Document:
    # The token hash and the pending-address guard never leave the store, not even in stored responses.
    return {k: v for k, v in doc.items() if k not in ("token_hash", "pending_key")}


# --- input validation --------------------------------------------------------------------


def _email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        raise reject("INVALID_EMAIL", f"{value!r} is not an e-mail address", "email")
    return email


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME:
        raise reject("INVALID_NAME", f"the name must be 1 to {MAX_NAME} characters", "name")
    return name


def _description(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise reject(
            "INVALID_DESCRIPTION", f"the description must be at most {MAX_DESCRIPTION} characters", "description"
        )
    return text or None


def _check_json(value: Any, field: str, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise reject("INVALID_JSON", f"nested deeper than {MAX_JSON_DEPTH} levels", field)
    if isinstance(value, dict):
        for key, item in value.items():
            # MongoDB reads `$` keys as operators and `.` keys as paths; extended JSON reads `$` keys as types.
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                raise reject("INVALID_JSON", f"{key!r} cannot be a key (no leading `$`, no `.`)", field)
            _check_json(item, field, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, field, depth + 1)


def _json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON object of bounded size that MongoDB stores as given; null means `{}`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise reject("INVALID_JSON", "expected a JSON object", field)
    _check_json(value, field)
    if len(json.dumps(value)) > MAX_JSON_BYTES:
        raise reject("INVALID_JSON", f"at most {MAX_JSON_BYTES} bytes of JSON", field)
    return value


def _cron(expression: str) -> str:
    text = " ".join(expression.split())
    # Five fields only: croniter would also read a sixth (seconds), which schedulers here do not run.
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise reject("INVALID_CRON", f"{expression[:100]!r} is not a five-field cron expression", "cron")
    try:
        # A valid expression may name a day that never comes (`0 0 30 2 *`); there is no next run to store.
        croniter(text, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).get_next(dt.datetime)
    except CroniterError:
        raise reject("INVALID_CRON", f"{expression[:100]!r} never fires", "cron") from None
    return text


def _timezone(name: str) -> ZoneInfo:
    # The name is a path under the tz database: a directory (`Europe`) or an over-long
    # name fails with OSError, which is as much the caller's mistake as an unknown zone.
    try:
        if len(name) > MAX_TIMEZONE:
            raise ValueError(name)
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise reject("INVALID_TIMEZONE", f"{name[:100]!r} is not an IANA time zone", "timezone") from None


def _next_run(cron: str, zone: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The next time the cron expression fires, read in `zone`, as a UTC instant."""
    local: dt.datetime = croniter(cron, after.astimezone(zone)).get_next(dt.datetime)
    return local.astimezone(dt.UTC).replace(microsecond=0)


# --- invitations ---------------------------------------------------------------------------


@strawberry.input(description="Invite a person to the organization by e-mail.")
class InviteTeamMemberInput:
    email: str = strawberry.field(description="Address to invite; compared without regard to case.")
    role: InvitationRole = strawberry.field(description="Role the invitee gets on accepting.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of inviting a team member.")
class InviteTeamMemberPayload:
    invitation: Invitation | None = strawberry.field(description="The new invitation.")
    token: str | None = strawberry.field(
        description="The secret the invitee accepts with. Returned only by the request that created the invitation "
        "(an idempotent replay returns null) and never stored: the store keeps only its SHA-256 hash."
    )
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Withdraw a pending invitation.")
class RevokeInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(
    description="Accept an invitation, naming it by exactly one of `token` (the secret sent to the invitee) "
    "or `invitationId` (then the e-mail claim of your bearer token must be the invited address)."
)
class AcceptInvitationInput:
    token: str | None = strawberry.field(
        default=None, description="The invitation's secret token, as returned by `inviteTeamMember`."
    )
    invitation_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The invitation; accepted only when your token's `email` claim matches the invited address "
        "(without regard to case) and is not marked unverified (`email_verified: false`).",
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of revoking or accepting an invitation.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation after the change.")
    user_errors: list[TeamError] = strawberry.field(description=USER_ERRORS)


def _invitation_payload(outcome: Outcome) -> InvitationPayload:
    return InvitationPayload(
        invitation=outcome.built("invitation", Invitation.from_doc),
        user_errors=typed_errors(outcome.errors, TeamError, TeamErrorCode),
    )


async def _invite(info: Ctx, data: InviteTeamMemberInput, issued: dict[str, str], w: Writes) -> Outcome:
    email = _email(data.email)
    if await w.find_one("users", {"email": email}):
        raise reject("ALREADY_MEMBER", f"{email} is already a member", "email")
    inviter = await w.find_one("users", {"oidc_subject": info.context.principal.subject})
    token = secrets.token_urlsafe(32)
    moment = now()
    doc: Document = {
        "_id": ObjectId(),
        "email": email,
        "role": data.role.value,
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "invited_by": str(inviter["_id"]) if inviter else None,
        "status": "pending",
        "pending_key": f"{w.tenant.organization_id}:{email}",
        "expires_at": moment + INVITATION_TTL,
        "created_at": moment,
    }
    audit = Audit(
        "invitation.sent",
        "Invitation",
        str(doc["_id"]),
        {"email": email, "role": doc["role"], "expiresAt": doc["expires_at"]},
    )
    await _take_seat(w, doc, audit)
    issued["token"] = token
    return Outcome(rows={"invitation": _public(w.tenant.scoped_document("team_invitations", doc))})


def _current_seats_quota() -> Document:
    moment = now()
    return {"resource": "seats", "period_start": {"$lte": moment}, "period_end": {"$gt": moment}}


async def _take_seat(w: Writes, invitation: Document, audit: Audit) -> None:
    """Create the invitation together with a seat of the `seats` quota, never beyond its limit.

    Seats taken are counted afresh each time: enterprise accounts plus open (pending, unexpired)
    invitations, so revoked and expired invitations free their seat without a write. The count
    is made safe against concurrent invitations by a conditional update of the quota document
    on its `revision`: of two invitations counting the same state, one update wins and the other
    counts again. The winner's invitation reaches `team_invitations` with its audit event; until
    then (where there are no transactions) it travels in the quota's marker and is counted from
    there, so a seat is never handed out twice.
    """
    email = invitation["email"]
    for _ in range(QUOTA_ATTEMPTS):
        moment = now()
        live = {"email": email, "status": "pending", "expires_at": {"$gt": moment}}
        if await w.find_one("team_invitations", live):
            raise reject("INVITATION_PENDING", f"{email} already has a pending invitation", "email")
        holder = await w.find_one("team_invitations", {"pending_key": invitation["pending_key"]})
        if holder is not None and holder["expires_at"] > moment:
            raise reject("INVITATION_PENDING", f"{email} already has a pending invitation", "email")
        if holder is not None:
            # Ran out of time but still guards the address: retire it so the new one can take its place.
            await w.tidy(
                "team_invitations",
                {"_id": holder["_id"], "status": "pending"},
                {"$set": {"status": "expired"}, "$unset": {"pending_key": ""}},
            )
        quota = await w.tenant.find_one(
            "usage_quotas", _current_seats_quota(), sort=[("period_start", -1)], session=w.session
        )
        if quota is None:
            raise reject("QUOTA_EXCEEDED", "the organization has no seats quota for this period", "email")
        taken = await _seats_taken(w, quota, email, moment)
        limit = quota["limit"]
        if taken >= limit:
            raise reject("QUOTA_EXCEEDED", f"all {limit} seats are taken by members and open invitations", "email")
        revision = {"revision": quota["revision"]} if "revision" in quota else {"revision": {"$exists": False}}
        updated = await w.update(
            "usage_quotas",
            {"_id": quota["_id"], "limit": limit, **revision},
            {"$set": {"used": taken + 1}, "$inc": {"revision": 1}},
            audit,
            also_insert=("team_invitations", invitation),
        )
        if updated is not None:
            return
    raise Conflict("the seats kept changing while inviting; try again")


async def _seats_taken(w: Writes, quota: Document, email: str, moment: dt.datetime) -> int:
    members = await w.tenant.count("users")
    open_invitations = await w.tenant.count("team_invitations", {"status": "pending", "expires_at": {"$gt": moment}})
    # Accepted, but the new account may still travel on the invitation's marker: the seat is the account's.
    joining = await w.tenant.count("team_invitations", {"status": "accepted", MARKER_COUNT: {"$gt": 0}})
    in_flight = 0
    for marker in (quota.get(MARKER) or {}).values():
        for collection, document in Pending.from_marker(marker).inserts:
            if collection == "team_invitations":
                if document["email"] == email:
                    raise reject("INVITATION_PENDING", f"{email} already has a pending invitation", "email")
                in_flight += 1
    # A delivered invitation whose marker is not removed yet counts twice for a moment: never too few.
    return members + open_invitations + joining + in_flight


async def _revoke(info: Ctx, data: RevokeInvitationInput, w: Writes) -> Outcome:
    invitation_id = parse_object_id(data.invitation_id, "Invitation", "invitationId")
    current = await w.find_one("team_invitations", {"_id": invitation_id})
    if current is None:
        raise reject("NOT_FOUND", "no such invitation in your organization", "invitationId")
    if current["status"] != "pending":
        raise reject("NOT_PENDING", f"the invitation is {current['status']}, not pending", "invitationId")
    audit = Audit("invitation.revoked", "Invitation", str(invitation_id), {"email": current["email"]})
    updated = await w.update(
        "team_invitations",
        {"_id": invitation_id, "status": "pending"},
        {
            "$set": {"status": "revoked", "revoked_at": now(), "revoked_by": info.context.principal.subject},
            "$unset": {"pending_key": ""},
        },
        audit,
    )
    if updated is None:
        raise reject("NOT_PENDING", "the invitation was answered meanwhile", "invitationId")
    return Outcome(rows={"invitation": _public(updated)})


# Enterprise roles of the account an accepted invitation creates, by invitation role.
ENTERPRISE_ROLES = {"admin": ["admin"], "analyst": ["analyst"], "member": ["member"]}


def _acceptance_error(invitation: Document, moment: dt.datetime, field: str) -> Rejected | None:
    if invitation["status"] == "expired" or (invitation["status"] == "pending" and invitation["expires_at"] <= moment):
        return reject("EXPIRED", "the invitation has expired", field)
    if invitation["status"] != "pending":
        return reject("NOT_PENDING", f"the invitation is {invitation['status']}, not pending", field)
    return None


def _addressed_to(principal: Principal, invitation: Document) -> bool:
    """Whether the caller's token carries the invited address (verified, when the token says)."""
    email = (principal.email or "").strip().lower()
    return bool(email) and principal.email_verified is not False and email == invitation["email"]


async def _locate_invitation(ctx: RequestContext, data: AcceptInvitationInput) -> Document:
    """The invitation the caller names, in whichever organization it is: the organization comes from it."""
    store = ctx.services.mongo
    if (data.token is None) == (data.invitation_id is None):
        raise reject("INVALID_INPUT", "give exactly one of token and invitationId", None)
    if data.token is not None:
        token = data.token.strip()
        found = None
        if token and len(token) <= MAX_TOKEN:
            found = await store.find_invitation(token_hash=hashlib.sha256(token.encode()).hexdigest())
        if found is None:
            raise reject("NOT_FOUND", "no invitation has this token", "token")
        return found
    assert data.invitation_id is not None
    invitation_id = parse_object_id(data.invitation_id, "Invitation", "invitationId")
    found = await store.find_invitation(_id=invitation_id)
    # Someone else's invitation reads as missing: ids do not reveal which invitations exist.
    if found is None or not _addressed_to(ctx.principal, found):
        raise reject("NOT_FOUND", "no invitation addressed to your e-mail address has this id", "invitationId")
    return found


def _refuse_members_elsewhere(principal: Principal, invitation: Document, data: AcceptInvitationInput) -> None:
    """A member of another organization never joins this one, whatever the invitation's state."""
    if principal.kind == "user" and principal.organization.enterprise_id != str(invitation["organization_id"]):
        field = "token" if data.token is not None else "invitationId"
        raise reject("ALREADY_MEMBER", "you already have an account in an organization", field)


async def _accept(info: Ctx, data: AcceptInvitationInput, invitation_id: ObjectId, w: Writes) -> Outcome:
    principal = info.context.principal
    field = "token" if data.token is not None else "invitationId"
    current = await w.find_one("team_invitations", {"_id": invitation_id})
    if current is None:
        raise reject("NOT_FOUND", "no such invitation", field)
    moment = now()
    error = _acceptance_error(current, moment, field)
    if error is not None:
        raise error
    store = w.tenant.store
    # A member elsewhere (also a Brain-only one, whom MongoDB does not know) cannot join a second organization.
    elsewhere = principal.kind == "user" and principal.organization.enterprise_id != w.tenant.organization_id
    if elsewhere or await store.find_user_by_subject(principal.subject) is not None:
        raise reject("ALREADY_MEMBER", "you already have an account in an organization", field)
    holder = await store.find_user_by_email(current["email"])
    if holder is not None and holder["organization_id"] == w.tenant.organization_id:
        raise reject("ALREADY_MEMBER", f"{current['email']} is already a member", field)
    if holder is not None:
        raise reject("EMAIL_IN_USE", f"{current['email']} has an account in another organization", field)
    # The account takes the invitation's id: however often an acceptance is retried or
    # redelivered, one invitation creates at most one account.
    user: Document = {
        "_id": current["_id"],
        "email": current["email"],
        "name": None,
        "roles": ENTERPRISE_ROLES[current["role"]],
        "oidc_subject": principal.subject,
        "status": "active",
        "last_login_at": None,
        "created_at": moment,
        "invitation_id": str(current["_id"]),
    }
    audit = Audit(
        "invitation.accepted",
        "Invitation",
        str(current["_id"]),
        {"email": current["email"], "role": current["role"], "userId": str(user["_id"])},
    )
    updated = await w.update(
        "team_invitations",
        {"_id": current["_id"], "status": "pending", "expires_at": {"$gt": moment}},
        {
            "$set": {
                "status": "accepted",
                "accepted_at": moment,
                "accepted_by": {"id": principal.subject, "email": principal.email},
                "user_id": str(user["_id"]),
            },
            "$unset": {"pending_key": ""},
        },
        audit,
        also_insert=("users", user),
    )
    if updated is None:
        # Answered between our read and our write: say what it is now.
        again = await w.find_one("team_invitations", {"_id": current["_id"]})
        raise (_acceptance_error(again, moment, field) if again else None) or reject(
            "NOT_PENDING", "no longer pending", field
        )
    return Outcome(rows={"invitation": _public(updated)})


# --- workflows -----------------------------------------------------------------------------


@strawberry.input(description="One step of a workflow: an action performed by an agent of the organization.")
class WorkflowStepInput:
    agent_id: strawberry.ID = strawberry.field(description="The agent performing the step.")
    action: str = strawberry.field(description="What the agent is asked to do, e.g. `analyze`, `notify`.")
    params: JSON | None = strawberry.field(
        default=None, description='Parameters of the action, a JSON object, e.g. `{"lookback_days": 7}`.'
    )


@strawberry.input(description="Create a workflow; it starts as version 1 in status DRAFT.")
class CreateWorkflowInput:
    name: str = strawberry.field(description=f"Display name, 1 to {MAX_NAME} characters.")
    description: str | None = strawberry.field(
        default=None, description=f"What the workflow is for, at most {MAX_DESCRIPTION} characters."
    )
    steps: list[WorkflowStepInput] = strawberry.field(description=f"The steps in run order, 1 to {MAX_STEPS}.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(
    description="Edit a workflow. Only fields given change. Fails with a CONFLICT error unless `expectedVersion` "
    "is the workflow's current version; archived workflows cannot change."
)
class UpdateWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    expected_version: int = strawberry.field(
        description="The version the edit is based on (optimistic concurrency); raised by one on success."
    )
    name: str | None = strawberry.field(default=None, description="New display name.")
    description: str | None = strawberry.field(default=None, description="New description; an empty string clears it.")
    steps: list[WorkflowStepInput] | None = strawberry.field(default=None, description="New steps, replacing all.")
    status: WorkflowStatus | None = strawberry.field(
        default=None, description="New lifecycle state; ARCHIVED is final."
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of creating or editing a workflow.")
class WorkflowPayload:
    workflow: Workflow | None = strawberry.field(description="The workflow after the change.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Run an active workflow once, now. Uses one unit of the `workflow_runs` quota.")
class RunWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    input: JSON | None = strawberry.field(
        default=None, description='What the run starts with, a JSON object, e.g. `{"window": "7d"}`.'
    )
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of starting a workflow run.")
class RunWorkflowPayload:
    execution: WorkflowExecution | None = strawberry.field(description="The queued run.")
    quota: UsageQuota | None = strawberry.field(description="The `workflow_runs` quota after this run.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Set when a workflow runs by itself; a workflow has at most one schedule.")
class SetWorkflowScheduleInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    cron: str = strawberry.field(description="Five-field cron expression, e.g. `0 6 * * *` (daily at 06:00).")
    timezone: str = strawberry.field(description="IANA time zone the expression is read in, e.g. `Europe/Berlin`.")
    enabled: bool = strawberry.field(description="False pauses the schedule (no next run).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of setting a workflow's schedule.")
class SetWorkflowSchedulePayload:
    schedule: ScheduledWorkflow | None = strawberry.field(description="The schedule after the change.")
    user_errors: list[WorkflowError] = strawberry.field(description=USER_ERRORS)


async def _steps(w: Writes, steps: list[WorkflowStepInput]) -> list[Document]:
    if not 1 <= len(steps) <= MAX_STEPS:
        raise reject("INVALID_STEPS", f"a workflow has 1 to {MAX_STEPS} steps", "steps")
    agent_ids = [parse_object_id(step.agent_id, "Agent", f"steps[{i}].agentId") for i, step in enumerate(steps)]
    known = {doc["_id"] for doc in await w.find("agentkit_agents", {"_id": {"$in": list(set(agent_ids))}})}
    documents = []
    for i, (step, agent_id) in enumerate(zip(steps, agent_ids, strict=True)):
        if agent_id not in known:
            raise reject("NOT_FOUND", "no such agent in your organization", f"steps[{i}].agentId")
        action = step.action.strip()
        if not action or len(action) > MAX_ACTION:
            raise reject("INVALID_ACTION", f"the action must be 1 to {MAX_ACTION} characters", f"steps[{i}].action")
        params = _json_object(step.params, f"steps[{i}].params")
        documents.append({"agent_id": str(agent_id), "action": action, "params": params})
    return documents


async def _workflow(w: Writes, workflow_id: ObjectId, *, editable: bool) -> Document:
    doc = await w.find_one("agentkit_workflows", {"_id": workflow_id})
    if doc is None:
        raise reject("NOT_FOUND", "no such workflow in your organization", "workflowId")
    if editable and doc["status"] == "archived":
        raise reject("WORKFLOW_ARCHIVED", "archived workflows cannot change", "workflowId")
    return doc


async def _create_workflow(info: Ctx, data: CreateWorkflowInput, w: Writes) -> Outcome:
    name, description = _name(data.name), _description(data.description)
    steps = await _steps(w, data.steps)
    moment = now()
    doc: Document = {
        "_id": ObjectId(),
        "name": name,
        "description": description,
        "steps": steps,
        "version": 1,
        "status": "draft",
        "created_at": moment,
        "updated_at": moment,
        "created_by": info.context.principal.subject,
    }
    audit = Audit("workflow.created", "Workflow", str(doc["_id"]), {"name": name, "steps": len(steps)})
    return Outcome(rows={"workflow": await w.insert("agentkit_workflows", doc, audit)})


async def _workflow_changes(w: Writes, data: UpdateWorkflowInput) -> Document:
    changes: Document = {}
    if data.name is not None:
        changes["name"] = _name(data.name)
    if data.description is not None:
        changes["description"] = _description(data.description)
    if data.status is not None:
        changes["status"] = data.status.value
    if data.steps is not None:
        changes["steps"] = await _steps(w, data.steps)
    if not changes:
        raise reject("NOTHING_TO_UPDATE", "give at least one of name, description, steps, status", None)
    return changes


async def _update_workflow(info: Ctx, data: UpdateWorkflowInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    current = await _workflow(w, workflow_id, editable=True)
    expected = data.expected_version
    if current["version"] != expected:
        raise Conflict(
            f"the workflow is at version {current['version']}, not {expected}", currentVersion=current["version"]
        )
    changes = await _workflow_changes(w, data)
    audit = Audit(
        "workflow.updated",
        "Workflow",
        str(workflow_id),
        {"fromVersion": expected, "toVersion": expected + 1, "changed": sorted(changes)},
    )
    updated = await w.update(
        "agentkit_workflows",
        {"_id": workflow_id, "version": expected, "status": {"$ne": "archived"}},
        {"$set": {**changes, "updated_at": now()}, "$inc": {"version": 1}},
        audit,
    )
    if updated is None:
        # Someone else changed it between our read and our write.
        await _workflow(w, workflow_id, editable=True)
        raise Conflict(f"the workflow is no longer at version {expected}")
    return Outcome(rows={"workflow": updated})


async def _run_workflow(info: Ctx, data: RunWorkflowInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    run_input = _json_object(data.input, "input")
    workflow = await _workflow(w, workflow_id, editable=False)
    if workflow["status"] != "active":
        raise reject(
            "WORKFLOW_NOT_ACTIVE", f"only active workflows run; this one is {workflow['status']}", "workflowId"
        )
    principal = info.context.principal
    execution: Document = {
        "_id": ObjectId(),
        "workflow_id": str(workflow_id),
        "workflow_version": workflow["version"],
        "status": "queued",
        "input": run_input,
        "output": None,
        "error": None,
        "triggered_by": "user" if principal.kind == "user" else "api",
        "triggered_by_actor": actor(info.context),
        "created_at": now(),
        "started_at": None,
        "finished_at": None,
    }
    quota = await _consume_run(w, execution)
    return Outcome(rows={"execution": w.tenant.scoped_document("agentkit_executions", execution), "quota": quota})


async def _consume_run(w: Writes, execution: Document) -> Document:
    """Take one unit of the current `workflow_runs` quota, creating the execution with it."""
    audit = Audit(
        "workflow.run",
        "WorkflowExecution",
        str(execution["_id"]),
        {"workflowId": execution["workflow_id"], "workflowVersion": execution["workflow_version"]},
    )
    for _ in range(QUOTA_ATTEMPTS):
        moment = now()
        quota = await w.find_one(
            "usage_quotas",
            {"resource": "workflow_runs", "period_start": {"$lte": moment}, "period_end": {"$gt": moment}},
            sort=[("period_start", -1)],
        )
        if quota is None or quota["used"] >= quota["limit"]:
            raise reject("QUOTA_EXCEEDED", "the organization has used all workflow runs of this period", "workflowId")
        # The limit is pinned in the filter: the stand-in cannot compare two fields ($expr).
        limit = quota["limit"]
        taken = await w.update(
            "usage_quotas",
            {"_id": quota["_id"], "limit": limit, "used": {"$lt": limit}},
            {"$inc": {"used": 1}},
            audit,
            also_insert=("agentkit_executions", execution),
        )
        if taken is not None:
            return taken
    raise Conflict("the quota kept changing while the run started; try again")


async def _set_schedule(info: Ctx, data: SetWorkflowScheduleInput, w: Writes) -> Outcome:
    workflow_id = parse_object_id(data.workflow_id, "Workflow", "workflowId")
    cron, zone = _cron(data.cron), _timezone(data.timezone)
    await _workflow(w, workflow_id, editable=True)
    moment = now()
    fields: Document = {
        "cron": cron,
        "timezone": zone.key,
        "enabled": data.enabled,
        "next_run_at": _next_run(cron, zone, moment) if data.enabled else None,
        "updated_at": moment,
    }
    existing = await w.find_one("scheduled_workflows", {"workflow_id": str(workflow_id)}, sort=[("_id", 1)])
    # A new schedule takes its workflow's id, so two concurrent first schedules cannot both insert.
    schedule_id = existing["_id"] if existing else workflow_id
    details = {"workflowId": str(workflow_id), **{k: v for k, v in fields.items() if k != "updated_at"}}
    audit = Audit("workflow.schedule_set", "ScheduledWorkflow", str(schedule_id), details)
    if existing is None:
        new = {"_id": schedule_id, "workflow_id": str(workflow_id), "last_run_at": None, "created_at": moment}
        try:
            return Outcome(rows={"schedule": await w.insert("scheduled_workflows", {**new, **fields}, audit)})
        except DuplicateKeyError:
            pass  # created by a concurrent request: update it instead
    updated = await w.update("scheduled_workflows", {"_id": schedule_id}, {"$set": fields}, audit)
    if updated is None:
        raise reject("NOT_FOUND", "the workflow's schedule disappeared meanwhile; try again", "workflowId")
    return Outcome(rows={"schedule": updated})


# --- the mutations -----------------------------------------------------------------------


@strawberry.type
class EnterpriseMutations:
    @strawberry.mutation(
        description="Invite a person by e-mail; the invitation expires after 7 days and holds a seat of the "
        "`seats` quota until it is accepted (the seat becomes the member's), revoked or expired "
        "(`QUOTA_EXCEEDED` when members and open invitations fill the quota). Needs the admin or owner role."
    )
    async def invite_team_member(
        self, info: Ctx, input: Annotated[InviteTeamMemberInput, strawberry.argument(description="Who to invite.")]
    ) -> InviteTeamMemberPayload:
        issued: dict[str, str] = {}  # the token exists only in this response, never in a stored one
        outcome = await run_enterprise_mutation(
            info,
            operation="inviteTeamMember",
            permission=Permission.MANAGE_TEAM,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_invite, info, input, issued),
        )
        return InviteTeamMemberPayload(
            invitation=outcome.built("invitation", Invitation.from_doc),
            token=issued.get("token"),
            user_errors=typed_errors(outcome.errors, TeamError, TeamErrorCode),
        )

    @strawberry.mutation(description="Withdraw a pending invitation. Needs the admin or owner role.")
    async def revoke_invitation(
        self, info: Ctx, input: Annotated[RevokeInvitationInput, strawberry.argument(description="What to revoke.")]
    ) -> InvitationPayload:
        outcome = await run_enterprise_mutation(
            info,
            operation="revokeInvitation",
            permission=Permission.MANAGE_TEAM,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_revoke, info, input),
        )
        return _invitation_payload(outcome)

    @strawberry.mutation(
        description="Join the invitation's organization: creates your enterprise account with the invited role, "
        "linked to your token's subject, so your next token resolves to that organization. For people who are "
        "not a member of any organization yet; an invitation is accepted once. The idempotency key is kept in "
        "the invitation's organization."
    )
    async def accept_invitation(
        self, info: Ctx, input: Annotated[AcceptInvitationInput, strawberry.argument(description="Which invitation.")]
    ) -> InvitationPayload:
        ctx = info.context
        if ctx.principal.kind == "partner":
            raise Forbidden("only people accept invitations")
        ctx.require(Permission.ACCEPT_INVITATION)
        try:
            invitation = await _locate_invitation(ctx, input)
            _refuse_members_elsewhere(ctx.principal, invitation, input)
        except Rejected as rejected:
            # No organization to keep an idempotency key in, or not the caller's to write in (a member
            # of another organization, holding this one's invitation token): answer directly.
            return InvitationPayload(
                invitation=None, user_errors=typed_errors(rejected.errors, TeamError, TeamErrorCode)
            )
        outcome = await run_enterprise_mutation(
            info,
            operation="acceptInvitation",
            permission=Permission.ACCEPT_INVITATION,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_accept, info, input, invitation["_id"]),
            tenant=ctx.services.mongo.tenant(str(invitation["organization_id"])),
        )
        return _invitation_payload(outcome)

    @strawberry.mutation(description="Create a draft workflow. Needs the admin or owner role.")
    async def create_workflow(
        self, info: Ctx, input: Annotated[CreateWorkflowInput, strawberry.argument(description="The workflow.")]
    ) -> WorkflowPayload:
        outcome = await run_enterprise_mutation(
            info,
            operation="createWorkflow",
            permission=Permission.MANAGE_WORKFLOWS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_create_workflow, info, input),
        )
        return WorkflowPayload(
            workflow=outcome.built("workflow", Workflow.from_doc),
            user_errors=typed_errors(outcome.errors, WorkflowError, WorkflowErrorCode),
        )

    @strawberry.mutation(
        description="Edit a workflow if it is still at `expectedVersion` (else a CONFLICT error). "
        "Needs the admin or owner role."
    )
    async def update_workflow(
        self, info: Ctx, input: Annotated[UpdateWorkflowInput, strawberry.argument(description="The edit.")]
    ) -> WorkflowPayload:
        outcome = await run_enterprise_mutation(
            info,
            operation="updateWorkflow",
            permission=Permission.MANAGE_WORKFLOWS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_update_workflow, info, input),
        )
        return WorkflowPayload(
            workflow=outcome.built("workflow", Workflow.from_doc),
            user_errors=typed_errors(outcome.errors, WorkflowError, WorkflowErrorCode),
        )

    @strawberry.mutation(
        description="Queue a run of an active workflow, using one unit of the `workflow_runs` quota "
        "(`QUOTA_EXCEEDED` when none is left). Needs the admin or owner role."
    )
    async def run_workflow(
        self, info: Ctx, input: Annotated[RunWorkflowInput, strawberry.argument(description="The run.")]
    ) -> RunWorkflowPayload:
        outcome = await run_enterprise_mutation(
            info,
            operation="runWorkflow",
            permission=Permission.MANAGE_WORKFLOWS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_run_workflow, info, input),
        )
        return RunWorkflowPayload(
            execution=outcome.built("execution", WorkflowExecution.from_doc),
            quota=outcome.built("quota", UsageQuota.from_doc),
            user_errors=typed_errors(outcome.errors, WorkflowError, WorkflowErrorCode),
        )

    @strawberry.mutation(
        description="Create or replace a workflow's schedule; the next run time is computed in UTC. "
        "Needs the admin or owner role."
    )
    async def set_workflow_schedule(
        self, info: Ctx, input: Annotated[SetWorkflowScheduleInput, strawberry.argument(description="The schedule.")]
    ) -> SetWorkflowSchedulePayload:
        outcome = await run_enterprise_mutation(
            info,
            operation="setWorkflowSchedule",
            permission=Permission.MANAGE_WORKFLOWS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=partial(_set_schedule, info, input),
        )
        return SetWorkflowSchedulePayload(
            schedule=outcome.built("schedule", ScheduledWorkflow.from_doc),
            user_errors=typed_errors(outcome.errors, WorkflowError, WorkflowErrorCode),
        )
