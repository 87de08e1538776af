"""Brain actions: pause and resume creatives, set and shift campaign budgets."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from gateway.core.permissions import Permission
from gateway.data.brain import campaigns, creatives
from gateway.data.brain.action_logs import ActionLogRow
from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.creatives import CreativeRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.common import (
    ERROR_FIELD,
    ERROR_MESSAGE,
    USER_ERRORS,
    ActionLogEntry,
    Ctx,
    IdempotencyKey,
    Outcome,
    input_arguments,
    parse_uuid,
    reject,
    run_brain_mutation,
    typed,
    typed_errors,
)
from resolvers.brain.types import ActionLog, Campaign, Creative

MAX_REASON = 500
MAX_BUDGET = Decimal("999999999999.99")  # numeric(14, 2)


def _reason(reason: str | None, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise reject("REASON_REQUIRED", "a reason is required", "reason")
    if len(text) > MAX_REASON:
        raise reject("REASON_TOO_LONG", f"the reason must be at most {MAX_REASON} characters", "reason")
    return text or None


def check_amount(amount: Decimal, field: str, *, allow_zero: bool = False) -> Decimal:
    """A money amount (its form the Decimal scalar checked) that is positive, or not negative where zero is allowed."""
    if amount < 0 or (amount == 0 and not allow_zero):
        raise reject(
            "INVALID_AMOUNT",
            "the amount must be greater than zero" if not allow_zero else "the amount must not be negative",
            field,
        )
    return amount


@strawberry.enum(description="Why a Brain action (creative status, campaign budget) did not apply.")
class BrainActionErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="The reason is missing or blank.")
    REASON_TOO_LONG = strawberry.enum_value("REASON_TOO_LONG", description="The reason is longer than allowed.")
    INVALID_AMOUNT = strawberry.enum_value(
        "INVALID_AMOUNT",
        description="The amount is negative (or zero where it must be positive), or a result would exceed the maximum.",
    )
    CREATIVE_ARCHIVED = strawberry.enum_value(
        "CREATIVE_ARCHIVED", description="Archived creatives cannot change status."
    )
    ALREADY_ACTIVE = strawberry.enum_value("ALREADY_ACTIVE", description="The creative is already active.")
    ALREADY_PAUSED = strawberry.enum_value("ALREADY_PAUSED", description="The creative is already paused.")
    CAMPAIGN_ARCHIVED = strawberry.enum_value(
        "CAMPAIGN_ARCHIVED", description="Archived campaigns cannot change budget."
    )
    SAME_CAMPAIGN = strawberry.enum_value("SAME_CAMPAIGN", description="A budget shift needs two different campaigns.")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH", description="The two campaigns budget in different currencies."
    )
    INSUFFICIENT_BUDGET = strawberry.enum_value(
        "INSUFFICIENT_BUDGET", description="The source campaign has less budget than the amount to shift."
    )


@strawberry.type(
    description="Why a Brain action (creative status, campaign budget) did not apply. Nothing was changed."
)
class BrainActionError:
    code: BrainActionErrorCode = strawberry.field(description="Why, as a stable code to switch on.")
    message: str = strawberry.field(description=ERROR_MESSAGE)
    field: str | None = strawberry.field(description=ERROR_FIELD)


# --- creatives ---------------------------------------------------------------------------


@strawberry.input(description="Pause or resume one creative.")
class CreativeStatusInput:
    creative_id: strawberry.ID = strawberry.field(description="The creative.")
    reason: str = strawberry.field(description="Why (kept in the action log and the audit trail).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of pausing or resuming a creative.")
class CreativeStatusPayload:
    creative: Creative | None = strawberry.field(description="The creative after the change.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


async def _set_creative_status(
    info: Ctx, data: CreativeStatusInput, operation: str, status: str
) -> CreativeStatusPayload:
    async def perform(tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
        creative_id = parse_uuid(data.creative_id, "Creative", "creativeId")
        reason = _reason(data.reason, required=True)
        current = await creatives.lock(tx, creative_id)
        if current is None:
            raise reject("NOT_FOUND", "no such creative in your organization", "creativeId")
        if current.status == "archived":
            raise reject("CREATIVE_ARCHIVED", "archived creatives cannot change status", "creativeId")
        if current.status == status:
            raise reject("ALREADY_" + status.upper(), f"the creative is already {status}", "creativeId")
        updated = await creatives.set_status(tx, creative_id, status)
        log = ActionLogEntry(
            operation, "Creative", str(creative_id), {"reason": reason}, {"from": current.status, "to": status}
        )
        return Outcome(rows={"creative": updated}), log

    outcome = await run_brain_mutation(
        info,
        operation=operation,
        permission=Permission.RUN_ACTIONS,
        arguments=input_arguments(data),
        idempotency_key=data.idempotency_key,
        perform=perform,
    )
    return CreativeStatusPayload(
        creative=outcome.built("creative", typed(CreativeRow, Creative.from_row)),
        action_log=outcome.built("action_log", typed(ActionLogRow, ActionLog.from_row)),
        user_errors=typed_errors(outcome.errors, BrainActionError, BrainActionErrorCode),
    )


# --- campaign budgets --------------------------------------------------------------------


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


@strawberry.type
class BrainActions:
    @strawberry.mutation(
        description="Pause a creative. Needs the marketer, admin or owner role, or the `actions:write` scope."
    )
    async def pause_creative(
        self, info: Ctx, input: Annotated[CreativeStatusInput, strawberry.argument(description="The creative and why.")]
    ) -> CreativeStatusPayload:
        return await _set_creative_status(info, input, "pauseCreative", "paused")

    @strawberry.mutation(
        description="Resume a paused creative. Needs the marketer, admin or owner role, or the `actions:write` scope."
    )
    async def resume_creative(
        self, info: Ctx, input: Annotated[CreativeStatusInput, strawberry.argument(description="The creative and why.")]
    ) -> CreativeStatusPayload:
        return await _set_creative_status(info, input, "resumeCreative", "active")

    @strawberry.mutation(description="Set a campaign's daily budget.")
    async def update_campaign_budget(
        self,
        info: Ctx,
        input: Annotated[
            UpdateCampaignBudgetInput, strawberry.argument(description="The campaign and its new budget.")
        ],
    ) -> UpdateCampaignBudgetPayload:
        async def perform(tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
            campaign_id = parse_uuid(input.campaign_id, "Campaign", "campaignId")
            budget = check_amount(input.daily_budget, "dailyBudget", allow_zero=True)
            reason = _reason(input.reason, required=False)
            current = (await campaigns.lock(tx, [campaign_id])).get(campaign_id)
            if current is None:
                raise reject("NOT_FOUND", "no such campaign in your organization", "campaignId")
            if current.status == "archived":
                raise reject("CAMPAIGN_ARCHIVED", "archived campaigns cannot change budget", "campaignId")
            updated = await campaigns.set_budget(tx, campaign_id, budget)
            log = ActionLogEntry(
                "updateCampaignBudget",
                "Campaign",
                str(campaign_id),
                {"dailyBudget": str(budget), "reason": reason},
                {"before": str(current.daily_budget), "after": str(budget), "currency": current.currency.strip()},
            )
            return Outcome(rows={"campaign": updated}), log

        outcome = await run_brain_mutation(
            info,
            operation="updateCampaignBudget",
            permission=Permission.RUN_ACTIONS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=perform,
        )
        return UpdateCampaignBudgetPayload(
            campaign=outcome.built("campaign", typed(CampaignRow, Campaign.from_row)),
            action_log=outcome.built("action_log", typed(ActionLogRow, ActionLog.from_row)),
            user_errors=typed_errors(outcome.errors, BrainActionError, BrainActionErrorCode),
        )

    @strawberry.mutation(
        description="Move daily budget between two campaigns of your organization (same currency, not archived)."
    )
    async def shift_budget(
        self,
        info: Ctx,
        input: Annotated[ShiftBudgetInput, strawberry.argument(description="The two campaigns and the amount.")],
    ) -> ShiftBudgetPayload:
        async def perform(tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
            source_id = parse_uuid(input.from_campaign_id, "Campaign", "fromCampaignId")
            target_id = parse_uuid(input.to_campaign_id, "Campaign", "toCampaignId")
            amount = check_amount(input.amount, "amount")
            reason = _reason(input.reason, required=False)
            if source_id == target_id:
                raise reject("SAME_CAMPAIGN", "choose two different campaigns", "toCampaignId")
            locked = await campaigns.lock(tx, [source_id, target_id])
            source, target = locked.get(source_id), locked.get(target_id)
            if source is None:
                raise reject("NOT_FOUND", "no such campaign in your organization", "fromCampaignId")
            if target is None:
                raise reject("NOT_FOUND", "no such campaign in your organization", "toCampaignId")
            for row, name in ((source, "fromCampaignId"), (target, "toCampaignId")):
                if row.status == "archived":
                    raise reject("CAMPAIGN_ARCHIVED", "archived campaigns cannot change budget", name)
            if source.currency != target.currency:
                raise reject(
                    "CURRENCY_MISMATCH",
                    f"cannot move {source.currency.strip()} budget to a {target.currency.strip()} campaign",
                    "toCampaignId",
                )
            if source.daily_budget < amount:
                raise reject(
                    "INSUFFICIENT_BUDGET", f"the source campaign has only {source.daily_budget} to give", "amount"
                )
            if target.daily_budget + amount > MAX_BUDGET:
                raise reject("INVALID_AMOUNT", "the receiving campaign's budget would exceed the maximum", "amount")
            after_source = await campaigns.set_budget(tx, source_id, source.daily_budget - amount)
            after_target = await campaigns.set_budget(tx, target_id, target.daily_budget + amount)
            log = ActionLogEntry(
                "shiftBudget",
                "Campaign",
                str(source_id),
                {"from": str(source_id), "to": str(target_id), "amount": str(amount), "reason": reason},
                {
                    "fromBudget": str(after_source.daily_budget),
                    "toBudget": str(after_target.daily_budget),
                    "currency": source.currency.strip(),
                },
            )
            return Outcome(rows={"from": after_source, "to": after_target}), log

        outcome = await run_brain_mutation(
            info,
            operation="shiftBudget",
            permission=Permission.RUN_ACTIONS,
            arguments=input_arguments(input),
            idempotency_key=input.idempotency_key,
            perform=perform,
        )
        return ShiftBudgetPayload(
            from_=outcome.built("from", typed(CampaignRow, Campaign.from_row)),
            to=outcome.built("to", typed(CampaignRow, Campaign.from_row)),
            action_log=outcome.built("action_log", typed(ActionLogRow, ActionLog.from_row)),
            user_errors=typed_errors(outcome.errors, BrainActionError, BrainActionErrorCode),
        )
