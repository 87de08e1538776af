"""A catalog batch checked against what the organization holds: every row's fate before anything is written.

Rows refer to their parents by platform ids, in the same batch or stored
before. Each row is checked in turn; the first bad attribute of each bad row
is reported (up to `MAX_REPORTED_ERRORS`), and nothing is written unless
every row is good.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from gateway.core.rules import Rejected, UserError, reject
from gateway.core.rules.budget import MAX_BUDGET, check_amount
from gateway.core.rules.lifecycle import ARCHIVED
from gateway.core.rules.text import MAX_NAME
from gateway.data.brain.catalog import (
    CampaignWrite,
    ChannelWrite,
    CreativeWrite,
    Key,
    StoredCampaign,
    StoredChannel,
    StoredCreative,
)
from resolvers.actions.catalog.common import (
    MAX_EXTERNAL_ID,
    MAX_HEADLINE,
    MAX_OBJECTIVE,
    MAX_REPORTED_ERRORS,
    CatalogCampaignInput,
    CatalogChannelInput,
    CatalogCreativeInput,
)
from resolvers.brain.enums import DeliveryStatus
from resolvers.common.enums import stored

T = TypeVar("T")
CURRENCY = re.compile(r"^[A-Z]{3}$")
NEW = None  # the id of a row not stored yet
UNSET = UUID(int=0)  # a write's parent until the parents are written


@dataclass
class Planned:
    """One row's fate: its key, its stored id (None when new), and whether it changes."""

    index: int
    key: Key
    id: UUID | None
    changed: bool


@dataclass
class Batch:
    """What the organization holds of the batch's keys, and the rows checked so far."""

    channels: list[StoredChannel]
    campaigns: dict[Key, StoredCampaign]
    creatives: dict[Key, StoredCreative]
    errors: list[UserError] = field(default_factory=list)
    channel_rows: dict[Key, Planned] = field(default_factory=dict)
    campaign_rows: dict[Key, Planned] = field(default_factory=dict)
    creative_rows: dict[Key, Planned] = field(default_factory=dict)
    channel_writes: list[ChannelWrite] = field(default_factory=list)
    campaign_writes: list[tuple[Key, CampaignWrite]] = field(default_factory=list)  # the channel's key first
    creative_writes: list[tuple[Key, CreativeWrite]] = field(default_factory=list)  # the campaign's key first

    def each(self, rows: Sequence[T], check: Callable[[int, T], None]) -> None:
        for index, row in enumerate(rows):
            if len(self.errors) >= MAX_REPORTED_ERRORS:
                return
            try:
                check(index, row)
            except Rejected as rejected:
                self.errors.extend(rejected.errors)

    def channel_by_account(self) -> dict[Key, StoredChannel]:
        return {(c.platform, c.external_account_id): c for c in self.channels if c.external_account_id is not None}


def external_id(value: str, at: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_EXTERNAL_ID:
        raise reject("INVALID_EXTERNAL_ID", f"an external id must be 1 to {MAX_EXTERNAL_ID} characters", at)
    return text


def name_of(value: str, at: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_NAME:
        raise reject("INVALID_NAME", f"the name must be 1 to {MAX_NAME} characters", at)
    return text


def _text(value: str | None, limit: int, at: str) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise reject("INVALID_TEXT", f"at most {limit} characters", at)
    return text or None


def _first(rows: dict[Key, Planned], key: Key, index: int, at: str) -> None:
    seen = rows.get(key)
    if seen is not None and seen.index != index:
        raise reject("DUPLICATE_ROW", f"row {seen.index} has the same platform and id", at)


def check_channels(batch: Batch, rows: Sequence[CatalogChannelInput]) -> None:
    by_account = batch.channel_by_account()
    by_name = {(c.platform, c.name): c for c in batch.channels}
    batch_names: dict[Key, int] = {}

    def check(index: int, row: CatalogChannelInput) -> None:
        at = f"channels[{index}]"
        platform = stored(row.platform)
        key = (platform, external_id(row.external_account_id, f"{at}.externalAccountId"))
        name = name_of(row.name, f"{at}.name")
        _first(batch.channel_rows, key, index, f"{at}.externalAccountId")
        if batch_names.setdefault((platform, name), index) != index:
            raise reject("NAME_TAKEN", f"channels[{batch_names[(platform, name)]}] has the same name", f"{at}.name")
        current = by_account.get(key)
        named = by_name.get((platform, name))
        if current is None and named is not None and named.external_account_id is None:
            current = named  # adopted: a channel connected before it had an account id
        if named is not None and named is not current:
            raise reject("NAME_TAKEN", "another channel on this platform has this name", f"{at}.name")
        if current is not None and current.status == "disconnected":
            raise reject("CHANNEL_DISCONNECTED", "the channel is disconnected", f"{at}.externalAccountId")
        status = stored(row.status) if row.status is not None else current.status if current else "active"
        write = ChannelWrite(current.id if current else NEW, platform, key[1], name, status)
        changed = current is None or (current.name, current.status, current.external_account_id) != (
            name,
            status,
            key[1],
        )
        batch.channel_rows[key] = Planned(index, key, write.id, changed)
        if changed:
            batch.channel_writes.append(write)

    batch.each(rows, check)


def _channel_of(batch: Batch, key: Key, at: str) -> UUID | None:
    """The id of a campaign's channel (None when the batch creates it), or `Rejected`."""
    in_batch = batch.channel_rows.get(key)
    if in_batch is not None:
        return in_batch.id
    channel = batch.channel_by_account().get(key)
    if channel is None:
        raise reject("NOT_FOUND", "no channel of your organization has this account id on this platform", at)
    if channel.status == "disconnected":
        raise reject("CHANNEL_DISCONNECTED", "the channel is disconnected", at)
    return channel.id


def _status(sent: DeliveryStatus | None, current: str | None) -> str:
    """The status a synced campaign or creative gets: archiving is final, whatever the platform reports (a
    person archived it here; a creative of an archived campaign is archived with it)."""
    if current == ARCHIVED:
        return ARCHIVED
    return stored(sent) if sent is not None else current or "active"


def _campaign_write(row: CatalogCampaignInput, at: str, current: StoredCampaign | None) -> CampaignWrite:
    budget = row.daily_budget if row.daily_budget is not None else current.daily_budget if current else None
    if budget is not None:
        check_amount(budget, f"{at}.dailyBudget", allow_zero=True)
        if budget > MAX_BUDGET or budget != round(budget, 2):
            raise reject("INVALID_AMOUNT", f"at most {MAX_BUDGET}, in cents", f"{at}.dailyBudget")
    currency = row.currency.strip() if row.currency is not None else current.currency if current else "USD"
    if not CURRENCY.match(currency):
        raise reject("INVALID_CURRENCY", "a currency is three capital letters, e.g. EUR", f"{at}.currency")
    start = row.start_date if row.start_date is not None else current.start_date if current else None
    end = row.end_date if row.end_date is not None else current.end_date if current else None
    if start is not None and end is not None and end < start:
        raise reject("INVALID_DATES", "the campaign ends before it starts", f"{at}.endDate")
    objective = _text(row.objective, MAX_OBJECTIVE, f"{at}.objective") if row.objective is not None else None
    return CampaignWrite(
        channel_id=UNSET,
        external_id=external_id(row.external_id, f"{at}.externalId"),
        name=name_of(row.name, f"{at}.name"),
        status=_status(row.status, current.status if current else None),
        daily_budget=budget if budget is not None else Decimal(0),
        currency=currency,
        objective=objective if row.objective is not None else current.objective if current else None,
        start_date=start,
        end_date=end,
    )


def check_campaigns(batch: Batch, rows: Sequence[CatalogCampaignInput]) -> None:
    def check(index: int, row: CatalogCampaignInput) -> None:
        at = f"campaigns[{index}]"
        platform = stored(row.platform)
        key = (platform, external_id(row.external_id, f"{at}.externalId"))
        _first(batch.campaign_rows, key, index, f"{at}.externalId")
        channel_key = (platform, external_id(row.channel_external_account_id, f"{at}.channelExternalAccountId"))
        channel_id = _channel_of(batch, channel_key, f"{at}.channelExternalAccountId")
        current = batch.campaigns.get(key)
        if current is not None and current.channel_id != channel_id:
            raise reject("PARENT_MISMATCH", "the campaign exists on another channel", f"{at}.channelExternalAccountId")
        write = _campaign_write(row, at, current)
        changed = current is None or tuple(write)[1:] != (
            current.external_id,
            current.name,
            current.status,
            current.daily_budget,
            current.currency,
            current.objective,
            current.start_date,
            current.end_date,
        )
        batch.campaign_rows[key] = Planned(index, key, current.id if current else NEW, changed)
        if changed:
            batch.campaign_writes.append((channel_key, write))

    batch.each(rows, check)


def _campaign_of(batch: Batch, key: Key, at: str) -> UUID | None:
    """The id of a creative's campaign (None when the batch creates it), or `Rejected`."""
    in_batch = batch.campaign_rows.get(key)
    if in_batch is not None:
        return in_batch.id
    campaign = batch.campaigns.get(key)
    if campaign is None:
        raise reject("NOT_FOUND", "no campaign of your organization has this id on this platform", at)
    channel = next((c for c in batch.channels if c.id == campaign.channel_id), None)
    if channel is not None and channel.status == "disconnected":
        raise reject("CHANNEL_DISCONNECTED", "the campaign's channel is disconnected", at)
    return campaign.id


def check_creatives(batch: Batch, rows: Sequence[CatalogCreativeInput]) -> None:
    def check(index: int, row: CatalogCreativeInput) -> None:
        at = f"creatives[{index}]"
        platform = stored(row.platform)
        key = (platform, external_id(row.external_id, f"{at}.externalId"))
        _first(batch.creative_rows, key, index, f"{at}.externalId")
        campaign_key = (platform, external_id(row.campaign_external_id, f"{at}.campaignExternalId"))
        campaign_id = _campaign_of(batch, campaign_key, f"{at}.campaignExternalId")
        parent = batch.campaigns.get(campaign_key)
        parent_archived = parent is not None and parent.status == ARCHIVED
        current = batch.creatives.get(key)
        if current is not None and current.campaign_id != campaign_id:
            raise reject("PARENT_MISMATCH", "the creative exists in another campaign", f"{at}.campaignExternalId")
        format_ = stored(row.format) if row.format is not None else current.format if current else None
        if format_ is None:
            raise reject("FORMAT_REQUIRED", "a new creative needs its format", f"{at}.format")
        headline = _text(row.headline, MAX_HEADLINE, f"{at}.headline") if row.headline is not None else None
        write = CreativeWrite(
            campaign_id=UNSET,
            external_id=key[1],
            name=name_of(row.name, f"{at}.name"),
            format=format_,
            status=_status(row.status, ARCHIVED if parent_archived else current.status if current else None),
            headline=headline if row.headline is not None else current.headline if current else None,
        )
        changed = current is None or tuple(write)[1:] != (
            current.external_id,
            current.name,
            current.format,
            current.status,
            current.headline,
        )
        batch.creative_rows[key] = Planned(index, key, current.id if current else NEW, changed)
        if changed:
            batch.creative_writes.append((campaign_key, write))

    batch.each(rows, check)
