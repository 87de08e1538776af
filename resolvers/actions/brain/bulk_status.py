"""The bulk status mutations' schema: pauseCreatives, resumeCreatives, pauseCampaigns."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Annotated, Any

import strawberry

from gateway.core.permissions import Permission
from gateway.data.brain import campaigns, lifecycle_writes
from resolvers.actions.brain.bulk import MAX_IDS, Bulk, BulkActionOutcome, logs_by_target, outcome_of, perform
from resolvers.actions.brain.common import BRAIN_ACTION_CODES, BrainActionError
from resolvers.actions.built import ACTION_LOG, CAMPAIGN, CREATIVE
from resolvers.actions.common import USER_ERRORS, Ctx, IdempotencyKey, Outcome, run_brain_mutation, typed_errors
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.brain.records import ActionLog
from resolvers.brain.types import Campaign, Creative
from resolvers.common.enums import stored

PERMISSION = Permission.RUN_ACTIONS
WHO = "Needs the marketer, admin or owner role, or the `actions:write` scope."
IDS = (
    f"1 to {MAX_IDS} distinct ids; one that does not decode (`INVALID_ID`) or repeats (`DUPLICATE_ID`) changes nothing."
)
RESULTS = "One result per id, in the order given."
CHANGED = "How many objects changed (one action log entry each)."
REASON = "Why (kept in each action log entry and audit event)."

PAUSE_CREATIVES = Bulk(
    ActionKind.PAUSE_CREATIVES,
    ActionTargetType.CREATIVE,
    "creativeIds",
    "paused",
    lifecycle_writes.lock_creatives,
    lifecycle_writes.set_creative_statuses,
)
RESUME_CREATIVES = replace(PAUSE_CREATIVES, operation=ActionKind.RESUME_CREATIVES, status="active")
PAUSE_CAMPAIGNS = Bulk(
    ActionKind.PAUSE_CAMPAIGNS,
    ActionTargetType.CAMPAIGN,
    "campaignIds",
    "paused",
    campaigns.lock,
    lifecycle_writes.set_campaign_statuses,
)


@strawberry.input(description="Pause or resume many creatives at once.")
class CreativesStatusInput:
    creative_ids: list[strawberry.ID] = strawberry.field(description=IDS)
    reason: str = strawberry.field(description=REASON)
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="What a bulk action did to one creative.")
class BulkCreativeResult:
    id: strawberry.ID = strawberry.field(description="The id as given.")
    outcome: BulkActionOutcome = strawberry.field(description="What happened to it.")
    creative: Creative | None = strawberry.field(description="The creative after the call; null when NOT_FOUND.")
    action_log: ActionLog | None = strawberry.field(description="Its action log entry, when CHANGED.")


@strawberry.type(description="Result of a bulk creative status action.")
class BulkCreativesPayload:
    results: list[BulkCreativeResult] = strawberry.field(description=RESULTS)
    changed: int = strawberry.field(description=CHANGED)
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Pause many campaigns at once.")
class CampaignsStatusInput:
    campaign_ids: list[strawberry.ID] = strawberry.field(description=IDS)
    reason: str = strawberry.field(description=REASON)
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="What a bulk action did to one campaign.")
class BulkCampaignResult:
    id: strawberry.ID = strawberry.field(description="The id as given.")
    outcome: BulkActionOutcome = strawberry.field(description="What happened to it.")
    campaign: Campaign | None = strawberry.field(description="The campaign after the call; null when NOT_FOUND.")
    action_log: ActionLog | None = strawberry.field(description="Its action log entry, when CHANGED.")


@strawberry.type(description="Result of a bulk campaign status action.")
class BulkCampaignsPayload:
    results: list[BulkCampaignResult] = strawberry.field(description=RESULTS)
    changed: int = strawberry.field(description=CHANGED)
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


async def _run(info: Ctx, bulk: Bulk, given: list[strawberry.ID], reason: str, data: Any) -> Outcome:
    return await run_brain_mutation(
        info,
        operation=stored(bulk.operation),
        permission=PERMISSION,
        input=data,
        perform=partial(perform, bulk, [str(i) for i in given], reason),
    )


def _creatives(outcome: Outcome) -> BulkCreativesPayload:
    logs = logs_by_target(outcome.rows)
    results = [
        BulkCreativeResult(
            id=strawberry.ID(r["id"]),
            outcome=outcome_of(r),
            creative=CREATIVE(r["row"]) if r["row"] is not None else None,
            action_log=ACTION_LOG(logs[str(r["row"]["id"])]) if outcome_of(r) is BulkActionOutcome.CHANGED else None,
        )
        for r in outcome.rows.get("results", [])
    ]
    errors = typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES)
    return BulkCreativesPayload(results=results, changed=int(outcome.rows.get("changed", 0)), user_errors=errors)


async def pause_creatives(
    info: Ctx, input: Annotated[CreativesStatusInput, strawberry.argument(description="The creatives and why.")]
) -> BulkCreativesPayload:
    return _creatives(await _run(info, PAUSE_CREATIVES, input.creative_ids, input.reason, input))


async def resume_creatives(
    info: Ctx, input: Annotated[CreativesStatusInput, strawberry.argument(description="The creatives and why.")]
) -> BulkCreativesPayload:
    return _creatives(await _run(info, RESUME_CREATIVES, input.creative_ids, input.reason, input))


async def pause_campaigns(
    info: Ctx, input: Annotated[CampaignsStatusInput, strawberry.argument(description="The campaigns and why.")]
) -> BulkCampaignsPayload:
    outcome = await _run(info, PAUSE_CAMPAIGNS, input.campaign_ids, input.reason, input)
    logs = logs_by_target(outcome.rows)
    results = [
        BulkCampaignResult(
            id=strawberry.ID(r["id"]),
            outcome=outcome_of(r),
            campaign=CAMPAIGN(r["row"]) if r["row"] is not None else None,
            action_log=ACTION_LOG(logs[str(r["row"]["id"])]) if outcome_of(r) is BulkActionOutcome.CHANGED else None,
        )
        for r in outcome.rows.get("results", [])
    ]
    errors = typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES)
    return BulkCampaignsPayload(results=results, changed=int(outcome.rows.get("changed", 0)), user_errors=errors)


EFFECT = (
    "Ids of nothing and of other organizations are both reported `NOT_FOUND` (which one it is, is not said); "
    "archived objects are left as they are (`ARCHIVED`). One transaction: every change, one action log entry, "
    "audit event and `actionLogged` event per changed object, or nothing."
)
pause_many_creatives = strawberry.mutation(
    resolver=pause_creatives,
    description=f"Pause up to {MAX_IDS} creatives at once, with a result per id. {EFFECT} {WHO}",
)
resume_many_creatives = strawberry.mutation(
    resolver=resume_creatives,
    description=f"Resume up to {MAX_IDS} creatives at once, with a result per id. {EFFECT} {WHO}",
)
pause_many_campaigns = strawberry.mutation(
    resolver=pause_campaigns,
    description=f"Pause up to {MAX_IDS} campaigns at once, with a result per id (their creatives keep their own "
    f"statuses, as with `pauseCampaign`). {EFFECT} {WHO}",
)
