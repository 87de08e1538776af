"""Campaign budgets: amounts, and moving daily budget between campaigns without creating or losing any."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from gateway.core.rules import reject

MAX_BUDGET = Decimal("999999999999.99")  # numeric(14, 2)


class Budgeted(Protocol):
    """What the rules read of a campaign."""

    @property
    def status(self) -> str: ...

    @property
    def daily_budget(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


def check_amount(amount: Decimal, field: str, *, allow_zero: bool = False) -> Decimal:
    """A money amount (its form the Decimal scalar checked) that is positive, or not negative where zero is allowed."""
    if amount < 0 or (amount == 0 and not allow_zero):
        raise reject(
            "INVALID_AMOUNT",
            "the amount must be greater than zero" if not allow_zero else "the amount must not be negative",
            field,
        )
    return amount


def check_changeable(campaign: Budgeted, field: str) -> None:
    if campaign.status == "archived":
        raise reject("CAMPAIGN_ARCHIVED", "archived campaigns cannot change budget", field)


def shifted(source: Budgeted, target: Budgeted, amount: Decimal) -> tuple[Decimal, Decimal]:
    """The two daily budgets after moving `amount` from `source` to `target`.

    Their sum is what it was: budget moves within one currency, the giver never goes below
    zero and the receiver never beyond what the column holds, else nothing moves at all.
    """
    check_amount(amount, "amount")
    check_changeable(source, "fromCampaignId")
    check_changeable(target, "toCampaignId")
    if source.currency != target.currency:
        raise reject(
            "CURRENCY_MISMATCH",
            f"cannot move {source.currency.strip()} budget to a {target.currency.strip()} campaign",
            "toCampaignId",
        )
    if source.daily_budget < amount:
        raise reject("INSUFFICIENT_BUDGET", f"the source campaign has only {source.daily_budget} to give", "amount")
    if target.daily_budget + amount > MAX_BUDGET:
        raise reject("INVALID_AMOUNT", "the receiving campaign's budget would exceed the maximum", "amount")
    return source.daily_budget - amount, target.daily_budget + amount
