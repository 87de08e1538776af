"""`node(id)` for PostgreSQL types: global-id type name -> fetch by raw id within the tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain import (
    action_logs,
    brain_states,
    campaigns,
    channels,
    cohorts,
    creatives,
    credentials,
    sync_jobs,
)
from gateway.data.ids import parse_uuid
from resolvers.brain.records import ActionLog, ApiCredential, BrainState
from resolvers.brain.sync_jobs import SyncJob
from resolvers.brain.types import Campaign, Channel, Cohort, Creative

R = TypeVar("R")
NodeResolver = Callable[[RequestContext, str], Awaitable[object | None]]


def _by_id(factory: Callable[[RequestContext], DataLoader[UUID, R | None]], build: Callable[[R], Any]) -> NodeResolver:
    async def resolve(ctx: RequestContext, raw: str) -> object | None:
        key = parse_uuid(raw)
        row = await ctx.loader(factory).load(key) if key else None
        return build(row) if row is not None else None

    return resolve


NODE_RESOLVERS: dict[str, NodeResolver] = {
    "Channel": _by_id(channels.by_id, Channel.from_row),
    "Campaign": _by_id(campaigns.by_id, Campaign.from_row),
    "Creative": _by_id(creatives.by_id, Creative.from_row),
    "Cohort": _by_id(cohorts.by_id, Cohort.from_row),
    "BrainState": _by_id(brain_states.by_id, BrainState.from_row),
    "ApiCredential": _by_id(credentials.by_id, ApiCredential.from_row),
    "SyncJob": _by_id(sync_jobs.by_id, SyncJob.from_row),
    "ActionLog": _by_id(action_logs.by_id, ActionLog.from_row),
}
