"""Analytics series and usage quotas."""

from __future__ import annotations

import datetime as dt

from gateway.context import RequestContext
from gateway.data.enterprise.query import ById, by_ids
from gateway.errors import BadUserInput
from gateway.stores.mongo import Document, TenantMongo

MAX_ANALYTICS_DAYS = 366


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, dt.UTC)


def _days(start: dt.date, end: dt.date) -> Document:
    if start > end:
        raise BadUserInput("`from` must not be after `to`")
    if (end - start).days + 1 > MAX_ANALYTICS_DAYS:
        raise BadUserInput(f"a date range may span at most {MAX_ANALYTICS_DAYS} days")
    return {"$gte": _midnight(start), "$lt": _midnight(end + dt.timedelta(days=1))}


async def analytics(mongo: TenantMongo, metric: str, period: str, start: dt.date, end: dt.date) -> list[Document]:
    """One series over the days `start`..`end` (inclusive), oldest first."""
    query = {"metric": metric, "period": period, "date": _days(start, end)}
    return await mongo.find("analytics_data", query, sort=[("date", 1), ("_id", 1)])


def analytics_point_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "analytics_data")


async def quotas(mongo: TenantMongo) -> list[Document]:
    """Quotas, the latest period first, then by resource."""
    return await mongo.find("usage_quotas", sort=[("period_end", -1), ("resource", 1), ("_id", 1)])


def quota_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "usage_quotas")
