"""updateCampaign: edit a campaign's own fields at the version the edit is based on."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial
from typing import Annotated, Any

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import lifecycle, reject, text
from gateway.data.brain import campaigns, lifecycle_writes
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.brain.common import BRAIN_ACTION_CODES, BrainActionError
from resolvers.actions.built import ACTION_LOG, CAMPAIGN
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Logged,
    Outcome,
    parse_uuid,
    plain,
    run_brain_mutation,
    typed_errors,
)
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.brain.records import ActionLog
from resolvers.brain.types import Campaign
from resolvers.common.enums import stored

PERMISSION = Permission.RUN_ACTIONS
EDITABLE = ("name", "objective", "start_date", "end_date")


@strawberry.input(
    description="Edit a campaign's own fields. A field left out keeps its value; `null` clears an optional one. "
    "Budget (`updateCampaignBudget`) and status (`pauseCampaign`, ...) have mutations of their own; the currency, "
    "channel and platform id never change."
)
class UpdateCampaignInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    expected_version: int = strawberry.field(
        description="The campaign's `version` the edit is based on (optimistic concurrency): when the campaign "
        "changed since, nothing changes and the payload has a `VERSION_CONFLICT` user error and the "
        "`currentVersion`."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name, 1 to 200 characters.")
    objective: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="New optimisation goal, e.g. `conversions` (at most 100 characters); null clears.",
    )
    start_date: dt.date | None = strawberry.field(default=strawberry.UNSET, description="New first day; null clears.")
    end_date: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="New last day, not before the first; null makes the campaign open-ended."
    )
    reason: str | None = strawberry.field(default=None, description="Why (kept in the action log).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of editing a campaign.")
class UpdateCampaignPayload:
    campaign: Campaign | None = strawberry.field(description="The campaign after the edit, at its new version.")
    current_version: int | None = strawberry.field(
        description="The campaign's version now, when the edit was refused with `VERSION_CONFLICT`; null otherwise."
    )
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the edit.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


def _given(data: UpdateCampaignInput) -> dict[str, Any]:
    """The editable fields the input names (a field left out is UNSET)."""
    return {name: getattr(data, name) for name in EDITABLE if getattr(data, name) is not strawberry.UNSET}


def _arguments(data: UpdateCampaignInput) -> dict[str, Any]:
    # What the idempotency digest covers: a field left out and a field sent as null differ.
    kept = {k: v for k, v in vars(data).items() if k != "idempotency_key" and v is not strawberry.UNSET}
    return plain(kept)  # type: ignore[no-any-return]


def _changes(given: dict[str, Any]) -> dict[str, Any]:
    changes = dict(given)
    if "name" in changes:
        if changes["name"] is None:
            raise reject("INVALID_NAME", "a campaign's name cannot be cleared", "name")
        changes["name"] = text.name(changes["name"])
    if "objective" in changes:
        changes["objective"] = lifecycle.objective(changes["objective"])
    if not changes:
        raise reject("NOTHING_TO_UPDATE", "give at least one of name, objective, startDate, endDate", None)
    return changes


async def _edit(data: UpdateCampaignInput, tx: TenantConnection) -> tuple[Outcome, Logged]:
    campaign_id = parse_uuid(data.campaign_id, stored(ActionTargetType.CAMPAIGN), "campaignId")
    # The id is answered first, as in every mutation: an unknown campaign is NOT_FOUND whatever the edit.
    current = (await campaigns.lock(tx, [campaign_id])).get(campaign_id)
    if current is None:
        raise reject("NOT_FOUND", "no such campaign in your organization", "campaignId")
    changes = _changes(_given(data))
    reason = text.reason(data.reason, required=False)
    conflict = lifecycle.version_conflict(current.version, data.expected_version)
    if conflict is not None:
        # Refused before anything changed; the current version lets the client reload and retry.
        return Outcome(rows={"current_version": current.version}, errors=[conflict]), None
    if current.status == lifecycle.ARCHIVED:
        raise reject("CAMPAIGN_ARCHIVED", "archived campaigns cannot be edited", "campaignId")
    before = lifecycle_writes.fields_of(current)
    after = replace(before, **changes)
    lifecycle.check_dates(after)
    changed = sorted(k for k in changes if getattr(before, k) != getattr(after, k))
    if not changed:
        # Already as asked: nothing to write, log or version.
        return Outcome(rows={"campaign": current}), None
    updated = await lifecycle_writes.edit_campaign(tx, campaign_id, after)
    log = ActionLogEntry(
        stored(ActionKind.UPDATE_CAMPAIGN),
        stored(ActionTargetType.CAMPAIGN),
        str(campaign_id),
        {"expectedVersion": data.expected_version, "reason": reason},
        {
            "changed": changed,
            "before": {k: lifecycle_writes.as_text(getattr(before, k)) for k in changed},
            "after": {k: lifecycle_writes.as_text(getattr(after, k)) for k in changed},
            "version": updated.version,
        },
    )
    return Outcome(rows={"campaign": updated}), log


async def update_campaign(
    info: Ctx,
    input: Annotated[UpdateCampaignInput, strawberry.argument(description="The campaign, its version and the edit.")],
) -> UpdateCampaignPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.UPDATE_CAMPAIGN),
        permission=PERMISSION,
        input=input,
        perform=partial(_edit, input),
        arguments=_arguments(input),
    )
    current_version = outcome.rows.get("current_version")
    return UpdateCampaignPayload(
        campaign=outcome.built("campaign", CAMPAIGN),
        current_version=int(current_version) if current_version is not None else None,
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES),
    )


update = strawberry.mutation(
    resolver=update_campaign,
    description="Edit a campaign's name, objective and dates if it is still at `expectedVersion` (else a "
    "`VERSION_CONFLICT` user error with the `currentVersion`; nothing changes). Archived campaigns cannot be "
    "edited. Needs the marketer, admin or owner role, or the `actions:write` scope.",
)
