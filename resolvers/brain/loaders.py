"""Dataloaders for the Brain store: each batch is one SQL statement.

Keys that carry arguments (a date range, a page window, a filter) are
grouped by those arguments, so the number of statements grows with the
distinct argument sets written in the query, never with list sizes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from resolvers.brain.sql import METRIC_AGGREGATES, METRICS_FROM, metric_totals

Row = Any
K = TypeVar("K", bound=Hashable)

CAMPAIGN_COLUMNS = (
    "id, channel_id, name, external_id, status, daily_budget, currency, objective, "
    "start_date, end_date, created_at, updated_at"
)
CREATIVE_COLUMNS = "id, campaign_id, external_id, name, format, status, headline, created_at, updated_at"
CHANNEL_COLUMNS = "id, platform, name, status, created_at"


def _by_id(ctx: RequestContext, table: str, columns: str) -> DataLoader[UUID, Row | None]:
    async def load(ids: Sequence[UUID]) -> list[Row | None]:
        pg = ctx.postgres
        rows = await pg.fetch(
            f"SELECT {columns} FROM {table} WHERE organization_id = $1 AND id = ANY($2::uuid[])",
            pg.organization_id,
            list(ids),
        )
        found = {r["id"]: r for r in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load)


def channel_by_id(ctx: RequestContext) -> DataLoader[UUID, Row | None]:
    return _by_id(ctx, "channels", CHANNEL_COLUMNS)


def campaign_by_id(ctx: RequestContext) -> DataLoader[UUID, Row | None]:
    return _by_id(ctx, "campaigns", CAMPAIGN_COLUMNS)


def creative_by_id(ctx: RequestContext) -> DataLoader[UUID, Row | None]:
    return _by_id(ctx, "creatives", CREATIVE_COLUMNS)


def _grouped(keys: Sequence[tuple[UUID, K]]) -> dict[K, list[UUID]]:
    groups: dict[K, list[UUID]] = defaultdict(list)
    for parent, args in keys:
        if parent not in groups[args]:
            groups[args].append(parent)
    return groups


# --- performance over a date range -----------------------------------------------------

PerfKey = tuple[UUID, tuple[dt.date, dt.date]]


def _performance(ctx: RequestContext, column: str) -> DataLoader[PerfKey, Row | None]:
    async def load(keys: Sequence[PerfKey]) -> list[Row | None]:
        pg = ctx.postgres
        found: dict[PerfKey, Row] = {}
        for (start, end), parents in _grouped(keys).items():
            rows = await pg.fetch(
                metric_totals(
                    column, f"d.organization_id = $1 AND d.{column} = ANY($2::uuid[]) AND d.date BETWEEN $3 AND $4"
                ),
                pg.organization_id,
                parents,
                start,
                end,
            )
            found.update({(r["key"], (start, end)): r for r in rows})
        return [found.get(k) for k in keys]

    return DataLoader(load)


def campaign_performance(ctx: RequestContext) -> DataLoader[PerfKey, Row | None]:
    return _performance(ctx, "campaign_id")


def creative_performance(ctx: RequestContext) -> DataLoader[PerfKey, Row | None]:
    return _performance(ctx, "creative_id")


def channel_performance(ctx: RequestContext) -> DataLoader[PerfKey, Row | None]:
    return _performance(ctx, "channel_id")


def _daily(ctx: RequestContext, column: str) -> DataLoader[PerfKey, list[Row]]:
    async def load(keys: Sequence[PerfKey]) -> list[list[Row]]:
        pg = ctx.postgres
        found: dict[PerfKey, list[Row]] = defaultdict(list)
        for (start, end), parents in _grouped(keys).items():
            rows = await pg.fetch(
                f"SELECT m.{column} AS key, m.date, {METRIC_AGGREGATES} FROM {METRICS_FROM} "
                f"WHERE m.organization_id = $1 AND m.{column} = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 "
                f"GROUP BY m.{column}, m.date ORDER BY m.{column}, m.date",
                pg.organization_id,
                parents,
                start,
                end,
            )
            for r in rows:
                found[(r["key"], (start, end))].append(r)
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def campaign_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[Row]]:
    return _daily(ctx, "campaign_id")


def creative_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[Row]]:
    return _daily(ctx, "creative_id")


def channel_daily(ctx: RequestContext) -> DataLoader[PerfKey, list[Row]]:
    return _daily(ctx, "channel_id")


# --- child lists, paged per parent in one statement -------------------------------------


@dataclass(frozen=True)
class ChildQuery:
    """What a per-parent page asks for: filters (SQL + params), order, and the window."""

    conditions: tuple[str, ...]  # may use $3.. ($1 = organization, $2 = parent ids)
    params: tuple[Any, ...]
    order: str
    offset: int = 0
    limit: int = 0


PageKey = tuple[UUID, ChildQuery]


def _child_pages(ctx: RequestContext, table: str, columns: str, parent: str) -> DataLoader[PageKey, list[Row]]:
    async def load(keys: Sequence[PageKey]) -> list[list[Row]]:
        pg = ctx.postgres
        found: dict[PageKey, list[Row]] = defaultdict(list)
        for query, parents in _grouped(keys).items():
            where = " AND ".join(("organization_id = $1", f"{parent} = ANY($2::uuid[])", *query.conditions))
            n = 3 + len(query.params)
            rows = await pg.fetch(
                f"SELECT * FROM (SELECT {columns}, {parent} AS parent_key, "
                f"row_number() OVER (PARTITION BY {parent} ORDER BY {query.order}) AS position "
                f"FROM {table} WHERE {where}) ranked "
                f"WHERE position > ${n} AND position <= ${n} + ${n + 1} ORDER BY parent_key, position",
                pg.organization_id,
                parents,
                *query.params,
                query.offset,
                query.limit,
            )
            for r in rows:
                found[(r["parent_key"], query)].append(r)
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def _child_counts(ctx: RequestContext, table: str, parent: str) -> DataLoader[PageKey, int]:
    async def load(keys: Sequence[PageKey]) -> list[int]:
        pg = ctx.postgres
        found: dict[PageKey, int] = {}
        for query, parents in _grouped(keys).items():
            where = " AND ".join(("organization_id = $1", f"{parent} = ANY($2::uuid[])", *query.conditions))
            rows = await pg.fetch(
                f"SELECT {parent} AS parent_key, count(*) AS n FROM {table} WHERE {where} GROUP BY {parent}",
                pg.organization_id,
                parents,
                *query.params,
            )
            found.update({(r["parent_key"], query): int(r["n"]) for r in rows})
        return [found.get(k, 0) for k in keys]

    return DataLoader(load)


def creatives_by_campaign(ctx: RequestContext) -> DataLoader[PageKey, list[Row]]:
    return _child_pages(ctx, "creatives", CREATIVE_COLUMNS, "campaign_id")


def creative_counts_by_campaign(ctx: RequestContext) -> DataLoader[PageKey, int]:
    return _child_counts(ctx, "creatives", "campaign_id")


def campaigns_by_channel(ctx: RequestContext) -> DataLoader[PageKey, list[Row]]:
    return _child_pages(ctx, "campaigns", CAMPAIGN_COLUMNS, "channel_id")


def campaign_counts_by_channel(ctx: RequestContext) -> DataLoader[PageKey, int]:
    return _child_counts(ctx, "campaigns", "channel_id")


def cohorts_by_channel(ctx: RequestContext) -> DataLoader[UUID, list[Row]]:
    async def load(ids: Sequence[UUID]) -> list[list[Row]]:
        pg = ctx.postgres
        rows = await pg.fetch(
            "SELECT * FROM cohorts WHERE organization_id = $1 AND channel_id = ANY($2::uuid[]) "
            "ORDER BY channel_id, cohort_month DESC",
            pg.organization_id,
            list(ids),
        )
        found: dict[UUID, list[Row]] = defaultdict(list)
        for r in rows:
            found[r["channel_id"]].append(r)
        return [found.get(i, []) for i in ids]

    return DataLoader(load)


LoaderFactory = Callable[[RequestContext], DataLoader[Any, Any]]
