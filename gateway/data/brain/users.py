"""Brain accounts (PostgreSQL `users`), which members join to enterprise accounts by e-mail."""

from __future__ import annotations

import logging
from typing import NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Where, order_by
from gateway.data.paging import Ordering, Seek, SortKey
from gateway.data.rows import columns, row_of
from gateway.errors import StoreUnavailable

log = logging.getLogger("omnify.enterprise")


class BrainUser(NamedTuple):
    email: str
    name: str | None
    role: str
    id: UUID


COLUMNS = columns(BrainUser)


def by_email(ctx: RequestContext) -> DataLoader[str, BrainUser | None]:
    """Brain accounts by e-mail; raises `StoreUnavailable` when PostgreSQL is down."""

    async def load(emails: list[str]) -> list[BrainUser | None]:
        if not ctx.has_brain:
            return [None] * len(emails)
        pg = ctx.postgres
        rows = await pg.fetch(
            f"SELECT {COLUMNS} FROM users WHERE organization_id = $1 AND email = ANY($2::text[])",
            pg.organization_id,
            emails,
        )
        found = {row["email"]: row_of(BrainUser)(row) for row in rows}
        return [found.get(email) for email in emails]

    return DataLoader(load)


async def listed(ctx: RequestContext, wanted: Seek | None = None) -> list[BrainUser] | None:
    """The organization's Brain accounts by e-mail (all, or a page's), or None when PostgreSQL cannot answer.

    Ordered by code point (`COLLATE "C"`) like MongoDB and Python, so that the
    two stores' lists merge correctly; `wanted` is a page of members (ordered by `email`).
    """
    if not ctx.has_brain:
        return []
    pg = ctx.postgres
    where = Where(conditions=["organization_id = $1"])
    ascending = Ordering.of(SortKey('email COLLATE "C"', "s"))

    def like(ordering: Ordering) -> Ordering:
        return ascending.reversed() if ordering.keys[0].descending else ascending

    for ordering, values in wanted.bounds() if wanted else []:
        where.after(like(ordering), values)
    try:
        rows = await pg.fetch(
            f"SELECT {COLUMNS} FROM users WHERE {where.clause} "
            f"ORDER BY {order_by(like(wanted.order) if wanted else ascending)} "
            f"LIMIT {where.param(wanted.limit if wanted else None)}",
            pg.organization_id,
            *where.params,
        )
    except StoreUnavailable:
        # Members still list from MongoDB; their Brain fields read as unknown.
        log.warning("brain store unavailable; listing members from the enterprise store only")
        return None
    return [row_of(BrainUser)(row) for row in rows]


async def signs_in_as(ctx: RequestContext, subject: str) -> bool:
    """Whether a Brain account of the organization signs in with this OIDC subject (Brain subjects are UUIDs):
    such an account places the subject's tokens in the organization. Raises `StoreUnavailable`."""
    try:
        auth_id = UUID(subject)
    except ValueError:
        return False
    if not ctx.has_brain:
        return False
    pg = ctx.postgres
    found = await pg.fetchval(
        "SELECT EXISTS (SELECT 1 FROM users WHERE organization_id = $1 AND auth_id = $2)", pg.organization_id, auth_id
    )
    return bool(found)
