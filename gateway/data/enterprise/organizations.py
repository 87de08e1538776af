"""The organization's own document and its billing subscriptions."""

from __future__ import annotations

from gateway.core.context import RequestContext
from gateway.data.enterprise.query import ById, by_ids
from gateway.stores.mongo import Document, TenantMongo


async def organization(mongo: TenantMongo) -> Document | None:
    return await mongo.find_one("organizations")


async def current_subscription(mongo: TenantMongo) -> Document | None:
    """The subscription whose period ends last."""
    docs = await mongo.find("subscriptions", sort=[("current_period_end", -1)], limit=1)
    return docs[0] if docs else None


def subscriptions_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "subscriptions")
