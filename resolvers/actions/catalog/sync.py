"""syncCatalog: channels, campaigns and creatives created or updated by their platform ids, all or nothing."""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import Rejected, reject
from gateway.data.brain import catalog
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.brain.catalog import Key, Written
from gateway.data.ids import to_global_id
from gateway.stores.postgres import TenantConnection
from resolvers.actions.built import ACTION_LOG
from resolvers.actions.catalog.common import (
    CATALOG_CODES,
    MAX_REPORTED_ERRORS,
    MAX_ROWS,
    CatalogError,
    SyncCatalogInput,
    SyncedRow,
    SyncResult,
)
from resolvers.actions.catalog.rows import Batch, Planned, check_campaigns, check_channels, check_creatives
from resolvers.actions.common import Ctx, Outcome, plain, run_brain_mutation, typed_errors
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.brain.records import ActionLog
from resolvers.common.enums import stored

PERMISSION = Permission.SYNC_CATALOG


@strawberry.type(description="Result of a catalog sync: one result per row sent, in the order sent.")
class SyncCatalogPayload:
    channels: list[SyncedRow] = strawberry.field(description="The channels' results; empty when rejected.")
    campaigns: list[SyncedRow] = strawberry.field(description="The campaigns' results; empty when rejected.")
    creatives: list[SyncedRow] = strawberry.field(description="The creatives' results; empty when rejected.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the sync.")
    user_errors: list[CatalogError] = strawberry.field(
        description=f"Why nothing was written: one error per bad row (first {MAX_REPORTED_ERRORS}), with `field` "
        "naming the row and attribute, e.g. `creatives[17].headline`."
    )


def _check_size(data: SyncCatalogInput) -> None:
    rows = len(data.channels) + len(data.campaigns) + len(data.creatives)
    if rows == 0:
        raise reject("NO_ROWS", "send at least one channel, campaign or creative", None)
    if rows > MAX_ROWS:
        raise reject("TOO_MANY_ROWS", f"send at most {MAX_ROWS} rows per call (got {rows}); split the batch", None)


def _keys(data: SyncCatalogInput) -> tuple[list[Key], list[Key]]:
    """The campaign keys (the batch's and the creatives' parents) and the creative keys to read."""
    campaigns = {(stored(c.platform), c.external_id.strip()) for c in data.campaigns}
    campaigns |= {(stored(c.platform), c.campaign_external_id.strip()) for c in data.creatives}
    return list(campaigns), [(stored(c.platform), c.external_id.strip()) for c in data.creatives]


async def _checked(tx: TenantConnection, data: SyncCatalogInput) -> Batch:
    await catalog.lock(tx)
    campaign_keys, creative_keys = _keys(data)
    batch = Batch(
        channels=await catalog.channels(tx),
        campaigns=await catalog.campaigns(tx, campaign_keys),
        creatives=await catalog.creatives(tx, creative_keys),
    )
    check_channels(batch, data.channels)
    check_campaigns(batch, data.campaigns)
    check_creatives(batch, data.creatives)
    if batch.errors:
        raise Rejected(*batch.errors[:MAX_REPORTED_ERRORS])
    return batch


def _results(kind: str, planned: dict[Key, Planned], written: dict[Key, Written]) -> list[dict[str, Any]]:
    rows = []
    for key, row in planned.items():
        done = written.get(key)
        result = SyncResult.UNCHANGED if done is None else SyncResult.CREATED if done.inserted else SyncResult.UPDATED
        raw = done.id if done is not None else row.id
        assert raw is not None  # a row is either stored or written
        rows.append({"index": row.index, "external_id": key[1], "id": to_global_id(kind, raw), "result": result.value})
    return sorted(rows, key=lambda r: r["index"])


def _ids(planned: dict[Key, Planned], written: dict[Key, Written]) -> dict[Key, UUID]:
    ids = {k: p.id for k, p in planned.items() if p.id is not None}
    ids.update({k: w.id for k, w in written.items()})
    return ids


async def _write(tx: TenantConnection, batch: Batch) -> dict[str, list[dict[str, Any]]]:
    channel_ids = await catalog.write_channels(tx, batch.channel_writes)
    channels = {
        k: Written(channel_ids[k], k[0], k[1], p.id is None) for k, p in batch.channel_rows.items() if p.changed
    }
    channel_ids.update({k: p.id for k, p in batch.channel_rows.items() if p.id is not None})
    channel_ids.update({k: c.id for k, c in batch.channel_by_account().items() if k not in channel_ids})
    campaign_rows = [w._replace(channel_id=channel_ids[parent]) for parent, w in batch.campaign_writes]
    campaigns = {(w.platform, w.external_id): w for w in await catalog.write_campaigns(tx, campaign_rows)}
    campaign_ids = _ids(batch.campaign_rows, campaigns)
    campaign_ids.update({k: c.id for k, c in batch.campaigns.items() if k not in campaign_ids})
    creative_rows = [w._replace(campaign_id=campaign_ids[parent]) for parent, w in batch.creative_writes]
    creatives = {(w.platform, w.external_id): w for w in await catalog.write_creatives(tx, creative_rows)}
    return {
        "channels": _results("Channel", batch.channel_rows, channels),
        "campaigns": _results("Campaign", batch.campaign_rows, campaigns),
        "creatives": _results("Creative", batch.creative_rows, creatives),
    }


def _log(organization_id: UUID, results: dict[str, list[dict[str, Any]]]) -> ActionLogEntry:
    # Counts, not rows: the log and the audit event stay small whatever the batch size.
    counts = {kind: dict(Counter(r["result"] for r in rows)) for kind, rows in results.items()}
    sent = {kind: len(rows) for kind, rows in results.items()}
    return ActionLogEntry(
        stored(ActionKind.SYNC_CATALOG), stored(ActionTargetType.ORGANIZATION), str(organization_id), sent, counts
    )


async def _sync(data: SyncCatalogInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    _check_size(data)
    batch = await _checked(tx, data)
    results = await _write(tx, batch)
    return Outcome(rows=dict(results)), _log(tx.organization_id, results)


def _built(rows: list[dict[str, Any]] | None) -> list[SyncedRow]:
    return [
        SyncedRow(index=r["index"], external_id=r["external_id"], id=r["id"], result=SyncResult(r["result"]))
        for r in rows or []
    ]


async def sync_catalog(
    info: Ctx, input: Annotated[SyncCatalogInput, strawberry.argument(description="The rows to sync.")]
) -> SyncCatalogPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.SYNC_CATALOG),
        permission=PERMISSION,
        input=input,
        perform=partial(_sync, input),
        arguments={k: plain(getattr(input, k)) for k in ("channels", "campaigns", "creatives")},
    )
    return SyncCatalogPayload(
        channels=_built(outcome.rows.get("channels")),
        campaigns=_built(outcome.rows.get("campaigns")),
        creatives=_built(outcome.rows.get("creatives")),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, CatalogError, CATALOG_CODES),
    )


sync = strawberry.mutation(
    resolver=sync_catalog,
    description=f"Create or update up to {MAX_ROWS:,} channels, campaigns and creatives by their platform ids in one "
    "transaction: rows that differ are updated (the gateway's ids never change), rows that do not are left "
    "untouched, and one invalid row rejects the whole call. Needs the `catalog:write` scope, or the admin or "
    "owner role.",
)
