"""Analytics series and usage quotas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.context import RequestContext
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, compared, ordering, sort_of, within
from gateway.data.filters import Comparison, Sort, TimeRange
from gateway.data.paging import INT, TEXT, TIME
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


LATEST_PERIOD_FIRST = (Sort("period_end", descending=True), Sort("resource"))
# Each `orderBy` field of quotas and the type of its values.
QUOTA_KINDS = {"period_end": TIME, "resource": TEXT, "used": INT, "limit": INT}


@dataclass(frozen=True)
class QuotaFilter:
    """Which quotas a list holds; every part given must hold."""

    resources: tuple[str, ...] = ()
    used: Comparison | None = None
    limit: Comparison | None = None
    period_end: TimeRange | None = None


async def quotas(mongo: TenantMongo, f: QuotaFilter, order: Sequence[Sort] = ()) -> list[Document]:
    """Quotas matching `f`, the latest period first, then by resource, unless `order` says otherwise."""
    query = all_of(
        any_of("resource", f.resources),
        compared("used", f.used),
        compared("limit", f.limit),
        within("period_end", f.period_end),
    )
    return await mongo.find("usage_quotas", query, sort=sort_of(ordering(order, LATEST_PERIOD_FIRST, QUOTA_KINDS)))


def quota_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "usage_quotas")


# --- writes (inside an enterprise mutation) -------------------------------------------------

QUOTA_ATTEMPTS = 5  # conditional quota updates lost to concurrent ones before giving up


def current_quota_query(resource: str, moment: dt.datetime) -> Document:
    """The quota of `resource` whose period holds `moment`."""
    return {"resource": resource, "period_start": {"$lte": moment}, "period_end": {"$gt": moment}}


LATEST_PERIOD = [("period_start", -1)]
