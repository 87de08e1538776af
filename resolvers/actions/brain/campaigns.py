"""pauseCampaign, resumeCampaign, archiveCampaign: a campaign's delivery status.

Pausing or resuming a campaign leaves its creatives' statuses as they are: a creative delivers
while both it and its campaign are active, so resuming brings back exactly the creatives
that were active. Archiving is final and takes the campaign's creatives with it, in the same
transaction (each archived creative gets its own action log entry).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

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
    run_brain_mutation,
    typed_errors,
)
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.brain.records import ActionLog
from resolvers.brain.types import Campaign
from resolvers.common.enums import stored

PERMISSION = Permission.RUN_ACTIONS
WHO = "Needs the marketer, admin or owner role, or the `actions:write` scope."


@strawberry.input(description="Pause, resume or archive one campaign.")
class CampaignStatusInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    reason: str = strawberry.field(description="Why (kept in the action log and the audit trail).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of pausing, resuming or archiving a campaign.")
class CampaignStatusPayload:
    campaign: Campaign | None = strawberry.field(description="The campaign after the change.")
    archived_creatives: int = strawberry.field(
        description="How many of the campaign's creatives were archived with it (`archiveCampaign`; 0 otherwise)."
    )
    action_log: ActionLog | None = strawberry.field(description="The campaign's action log entry of the change.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


async def _set_status(
    data: CampaignStatusInput, kind: ActionKind, status: str, tx: TenantConnection
) -> tuple[Outcome, Logged]:
    campaign_id = parse_uuid(data.campaign_id, stored(ActionTargetType.CAMPAIGN), "campaignId")
    reason = text.reason(data.reason, required=True)
    current = (await campaigns.lock(tx, [campaign_id])).get(campaign_id)
    if current is None:
        raise reject("NOT_FOUND", "no such campaign in your organization", "campaignId")
    lifecycle.check_transition("CAMPAIGN", current.status, status, "campaignId")
    [updated] = await lifecycle_writes.set_campaign_statuses(tx, [campaign_id], status)
    archived = await lifecycle_writes.archive_creatives_of(tx, campaign_id) if status == lifecycle.ARCHIVED else []
    result = {"from": current.status, "to": status}
    logs = [
        ActionLogEntry(
            stored(kind),
            stored(ActionTargetType.CAMPAIGN),
            str(campaign_id),
            {"reason": reason},
            {**result, "archivedCreatives": len(archived)},
        )
    ]
    logs += [
        ActionLogEntry(
            stored(kind),
            stored(ActionTargetType.CREATIVE),
            str(creative.id),
            {"reason": reason, "campaignId": str(campaign_id)},
            {"from": previous, "to": lifecycle.ARCHIVED},
        )
        for creative, previous in archived
    ]
    return Outcome(rows={"campaign": updated, "archived_creatives": len(archived)}), logs


async def _run(info: Ctx, data: CampaignStatusInput, kind: ActionKind, status: str) -> CampaignStatusPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(kind),
        permission=PERMISSION,
        input=data,
        perform=partial(_set_status, data, kind, status),
    )
    return CampaignStatusPayload(
        campaign=outcome.built("campaign", CAMPAIGN),
        archived_creatives=int(outcome.rows.get("archived_creatives", 0)),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES),
    )


async def pause_campaign(
    info: Ctx, input: Annotated[CampaignStatusInput, strawberry.argument(description="The campaign and why.")]
) -> CampaignStatusPayload:
    return await _run(info, input, ActionKind.PAUSE_CAMPAIGN, lifecycle.PAUSED)


async def resume_campaign(
    info: Ctx, input: Annotated[CampaignStatusInput, strawberry.argument(description="The campaign and why.")]
) -> CampaignStatusPayload:
    return await _run(info, input, ActionKind.RESUME_CAMPAIGN, lifecycle.ACTIVE)


async def archive_campaign(
    info: Ctx, input: Annotated[CampaignStatusInput, strawberry.argument(description="The campaign and why.")]
) -> CampaignStatusPayload:
    return await _run(info, input, ActionKind.ARCHIVE_CAMPAIGN, lifecycle.ARCHIVED)


pause = strawberry.mutation(
    resolver=pause_campaign,
    description="Pause a campaign: none of its creatives delivers while it is paused, but their own statuses stay "
    f"as they are (resuming the campaign brings back exactly those that were active). {WHO}",
)
resume = strawberry.mutation(
    resolver=resume_campaign,
    description=f"Resume a paused campaign; its creatives keep their own statuses. {WHO}",
)
archive = strawberry.mutation(
    resolver=archive_campaign,
    description="Archive a campaign for good, and with it, in the same transaction, every creative of it not "
    "archived yet (each gets its own action log entry). Archived campaigns and creatives can never be paused, "
    f"resumed, edited or given budget again. {WHO}",
)
