"""Stored platform credentials: metadata only; the secret column is never selected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantReader


class CredentialRow(NamedTuple):
    id: UUID
    platform: str
    key_hint: str | None
    status: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


COLUMNS = columns(CredentialRow)


@dataclass(frozen=True)
class CredentialFilter:
    platforms: Sequence[str] = ()
    statuses: Sequence[str] = ()
    created_at: TimeRange | None = None
    last_used_at: TimeRange | None = None


SORTABLE = {
    "platform": Sortable("t.platform", "s"),
    "status": Sortable("t.status", "s"),
    "created_at": Sortable("t.created_at", "t"),
    "last_used_at": Sortable("t.last_used_at", "t", nullable=True),
}
BY_PLATFORM = (Sort("platform"), Sort("created_at"))


async def page(
    pg: TenantReader, page: Page, flt: CredentialFilter, sorts: Sequence[Sort] = BY_PLATFORM
) -> Paged[CredentialRow]:
    """Credentials by platform, then creation, unless told otherwise."""
    where = Where(conditions=["t.organization_id = $1"])
    where.any_of("t.platform", flt.platforms)
    where.any_of("t.status", flt.statuses)
    where.within("t.created_at", flt.created_at)
    where.within("t.last_used_at", flt.last_used_at)
    return await org_page(
        pg,
        key="Organization.credentials",
        row_type=CredentialRow,
        tables="api_credentials t",
        where=where,
        ordering=ordering_of(sorts or BY_PLATFORM, SORTABLE),
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, CredentialRow | None]:
    return loader_by_id(ctx, "api_credentials", COLUMNS, row_of(CredentialRow))
