"""updateCampaignBudget, shiftBudget: campaigns' daily budgets."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Annotated

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import Rejected, budget, reject, text
from gateway.data.brain import campaigns
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.brain.common import BRAIN_ACTION_CODES, BrainActionError
from resolvers.actions.built import ACTION_LOG, CAMPAIGN
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
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


@strawberry.input(description="Set a campaign's daily budget.")
class UpdateCampaignBudgetInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign.")
    daily_budget: Decimal = strawberry.field(
        description='New daily budget in the campaign\'s currency, e.g. `"250.00"`; not negative.'
    )
    reason: str | None = strawberry.field(default=None, description="Why (kept in the action log).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of setting a campaign's daily budget.")
class UpdateCampaignBudgetPayload:
    campaign: Campaign | None = strawberry.field(description="The campaign after the change.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


@strawberry.input(description="Move daily budget from one campaign to another of the same organization and currency.")
class ShiftBudgetInput:
    from_campaign_id: strawberry.ID = strawberry.field(description="Campaign giving budget.")
    to_campaign_id: strawberry.ID = strawberry.field(description="Campaign receiving budget.")
    amount: Decimal = strawberry.field(
        description='Amount of daily budget to move, in the campaigns\' currency, e.g. `"25.00"`; greater than zero.'
    )
    reason: str | None = strawberry.field(default=None, description="Why (kept in the action log).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of a budget shift.")
class ShiftBudgetPayload:
    from_: Campaign | None = strawberry.field(name="from", description="The giving campaign after the shift.")
    to: Campaign | None = strawberry.field(description="The receiving campaign after the shift.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the shift.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


def _not_found(field: str) -> Rejected:
    return reject("NOT_FOUND", "no such campaign in your organization", field)


async def _set_budget(data: UpdateCampaignBudgetInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    campaign_id = parse_uuid(data.campaign_id, "Campaign", "campaignId")
    amount = budget.check_amount(data.daily_budget, "dailyBudget", allow_zero=True)
    reason = text.reason(data.reason, required=False)
    current = (await campaigns.lock(tx, [campaign_id])).get(campaign_id)
    if current is None:
        raise _not_found("campaignId")
    budget.check_changeable(current, "campaignId")
    updated = await campaigns.set_budget(tx, campaign_id, amount)
    log = ActionLogEntry(
        stored(ActionKind.UPDATE_CAMPAIGN_BUDGET),
        stored(ActionTargetType.CAMPAIGN),
        str(campaign_id),
        {"dailyBudget": str(amount), "reason": reason},
        {"before": str(current.daily_budget), "after": str(amount), "currency": current.currency.strip()},
    )
    return Outcome(rows={"campaign": updated}), log


async def _shift(data: ShiftBudgetInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    source_id = parse_uuid(data.from_campaign_id, "Campaign", "fromCampaignId")
    target_id = parse_uuid(data.to_campaign_id, "Campaign", "toCampaignId")
    amount = budget.check_amount(data.amount, "amount")
    reason = text.reason(data.reason, required=False)
    if source_id == target_id:
        raise reject("SAME_CAMPAIGN", "choose two different campaigns", "toCampaignId")
    locked = await campaigns.lock(tx, [source_id, target_id])
    source, target = locked.get(source_id), locked.get(target_id)
    if source is None:
        raise _not_found("fromCampaignId")
    if target is None:
        raise _not_found("toCampaignId")
    source_budget, target_budget = budget.shifted(source, target, amount)
    after_source = await campaigns.set_budget(tx, source_id, source_budget)
    after_target = await campaigns.set_budget(tx, target_id, target_budget)
    log = ActionLogEntry(
        stored(ActionKind.SHIFT_BUDGET),
        stored(ActionTargetType.CAMPAIGN),
        str(source_id),
        {"from": str(source_id), "to": str(target_id), "amount": str(amount), "reason": reason},
        {
            "fromBudget": str(after_source.daily_budget),
            "toBudget": str(after_target.daily_budget),
            "currency": source.currency.strip(),
        },
    )
    return Outcome(rows={"from": after_source, "to": after_target}), log


async def update_campaign_budget(
    info: Ctx,
    input: Annotated[UpdateCampaignBudgetInput, strawberry.argument(description="The campaign and its new budget.")],
) -> UpdateCampaignBudgetPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.UPDATE_CAMPAIGN_BUDGET),
        permission=PERMISSION,
        input=input,
        perform=partial(_set_budget, input),
    )
    return UpdateCampaignBudgetPayload(
        campaign=outcome.built("campaign", CAMPAIGN),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES),
    )


async def shift_budget(
    info: Ctx,
    input: Annotated[ShiftBudgetInput, strawberry.argument(description="The two campaigns and the amount.")],
) -> ShiftBudgetPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.SHIFT_BUDGET),
        permission=PERMISSION,
        input=input,
        perform=partial(_shift, input),
    )
    return ShiftBudgetPayload(
        from_=outcome.built("from", CAMPAIGN),
        to=outcome.built("to", CAMPAIGN),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES),
    )


update = strawberry.mutation(resolver=update_campaign_budget, description="Set a campaign's daily budget.")
shift = strawberry.mutation(
    resolver=shift_budget,
    description="Move daily budget between two campaigns of your organization (same currency, not archived).",
)
