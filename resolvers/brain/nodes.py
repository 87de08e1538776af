"""`node(id)` for PostgreSQL types: global-id type name -> fetch by raw id within the tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from gateway.context import RequestContext
from resolvers.brain import loaders
from resolvers.brain.types import (
    CREDENTIAL_COLUMNS,
    ActionLog,
    ApiCredential,
    BrainState,
    Campaign,
    Channel,
    Cohort,
    Creative,
    SyncJob,
)

NodeResolver = Callable[[RequestContext, str], Awaitable[object | None]]


def _uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


def _via_loader(factory: loaders.LoaderFactory, build: Callable[[Any], object]) -> NodeResolver:
    async def resolve(ctx: RequestContext, raw: str) -> object | None:
        key = _uuid(raw)
        row = await ctx.loader(factory).load(key) if key else None
        return build(row) if row is not None else None

    return resolve


def _by_id(table: str, columns: str, build: Callable[[Any], object]) -> NodeResolver:
    async def resolve(ctx: RequestContext, raw: str) -> object | None:
        key = _uuid(raw)
        if key is None:
            return None
        pg = ctx.postgres
        row = await pg.fetchrow(
            f"SELECT {columns} FROM {table} WHERE organization_id = $1 AND id = $2", pg.organization_id, key
        )
        return build(row) if row is not None else None

    return resolve


NODE_RESOLVERS: dict[str, NodeResolver] = {
    "Channel": _via_loader(loaders.channel_by_id, Channel.from_row),
    "Campaign": _via_loader(loaders.campaign_by_id, Campaign.from_row),
    "Creative": _via_loader(loaders.creative_by_id, Creative.from_row),
    "Cohort": _by_id("cohorts", "*", Cohort.from_row),
    "BrainState": _by_id("brain_states", "*", BrainState.from_row),
    "ApiCredential": _by_id("api_credentials", CREDENTIAL_COLUMNS, ApiCredential.from_row),
    "SyncJob": _by_id("sync_jobs", "*", SyncJob.from_row),
    "ActionLog": _by_id("action_logs", "*", ActionLog.from_row),
}
