"""Stored platform credentials: metadata only; the secret column is written, never selected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID, uuid4

from aiodataloader import DataLoader

from gateway.core.context import RequestContext
from gateway.data.brain.sql import Sortable, Where, loader_by_id, ordering_of, org_page
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import Page, Paged
from gateway.data.rows import columns, row_of
from gateway.stores.postgres import TenantConnection, TenantReader


class CredentialRow(NamedTuple):
    id: UUID
    platform: str
    key_hint: str | None
    status: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    version: int
    rotated_at: dt.datetime | None
    revoked_at: dt.datetime | None


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


# --- writes (inside a mutation's transaction) ---------------------------------------------
# The sealed secret goes in as a parameter and never comes back: no statement here reads it.


def new_id() -> UUID:
    """The id of a credential about to be created: its sealed secret is bound to it."""
    return uuid4()


async def _written(tx: TenantConnection, sql: str, *args: Any) -> CredentialRow:
    row = await tx.fetchrow(sql, *args)
    assert row is not None
    return row_of(CredentialRow)(row)


async def insert(tx: TenantConnection, credential_id: UUID, platform: str, key_id: str, key_hint: str) -> CredentialRow:
    return await _written(
        tx,
        f"INSERT INTO api_credentials (id, organization_id, platform, key_id, key_hint) "
        f"VALUES ($2, $1, $3, $4, $5) RETURNING {COLUMNS}",
        tx.organization_id,
        credential_id,
        platform,
        key_id,
        key_hint,
    )


async def add_secret(tx: TenantConnection, credential_id: UUID, version: int, sealed: bytes, key_id: str) -> None:
    """A secret version of its own: secrets are appended, never rewritten (nor read back)."""
    await tx.execute(
        "INSERT INTO api_credential_secrets (credential_id, organization_id, version, encrypted_secret, key_id) "
        "VALUES ($2, $1, $3, $4, $5)",
        tx.organization_id,
        credential_id,
        version,
        sealed,
        key_id,
    )


async def lock(tx: TenantConnection, credential_id: UUID) -> CredentialRow | None:
    row = await tx.fetchrow(
        f"SELECT {COLUMNS} FROM api_credentials WHERE organization_id = $1 AND id = $2 FOR UPDATE",
        tx.organization_id,
        credential_id,
    )
    # None for another organization's id (filtered here, and hidden by row-level security) or no row at all.
    return row_of(CredentialRow)(row) if row is not None else None


async def rotated(tx: TenantConnection, credential_id: UUID, version: int, key_id: str, key_hint: str) -> CredentialRow:
    """The credential pointing at its new secret version (added with `add_secret` first)."""
    return await _written(
        tx,
        f"UPDATE api_credentials SET version = $3, key_id = $4, key_hint = $5, rotated_at = now() "
        f"WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}",
        tx.organization_id,
        credential_id,
        version,
        key_id,
        key_hint,
    )


async def revoke(tx: TenantConnection, credential_id: UUID) -> CredentialRow:
    return await _written(
        tx,
        f"UPDATE api_credentials SET status = 'revoked', revoked_at = now() "
        f"WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}",
        tx.organization_id,
        credential_id,
    )
