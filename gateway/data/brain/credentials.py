"""Stored platform credentials: metadata only; the secret column is never selected."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from aiodataloader import DataLoader

from gateway.context import RequestContext
from gateway.data.brain.sql import Where, loader_by_id, ordered, org_page, sort_key
from gateway.data.paging import Page, Paged
from gateway.data.rows import Row, columns
from gateway.stores.postgres import TenantReader


@dataclass(frozen=True, slots=True)
class CredentialRow(Row):
    id: UUID
    platform: str
    key_hint: str | None
    status: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


COLUMNS = columns(CredentialRow)


async def page(pg: TenantReader, page: Page) -> Paged[CredentialRow]:
    return await org_page(
        pg,
        key="Organization.credentials",
        select=f"{COLUMNS} FROM api_credentials",
        where=Where(conditions=["organization_id = $1"]),
        ordering=ordered([sort_key("platform", "s"), sort_key("created_at", "t")], "id"),
        build=CredentialRow.of,
        page=page,
    )


def by_id(ctx: RequestContext) -> DataLoader[UUID, CredentialRow | None]:
    return loader_by_id(ctx, "api_credentials", COLUMNS, CredentialRow.of)
