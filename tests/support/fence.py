"""Entering a tenant's fence by hand, as the gateway does, for tests that talk SQL directly."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from gateway.stores.fence import FenceKey


async def fence_key(owner_url: str) -> FenceKey:
    """The stored fence key, read as the owner (a superuser)."""
    conn = await asyncpg.connect(owner_url)
    try:
        return FenceKey(bytes(await conn.fetchval("SELECT key FROM fence_keys WHERE id = 1")))
    finally:
        await conn.close()


async def enter(conn: Any, key: FenceKey, organization_id: UUID, enterprise_id: str | None = None) -> None:
    """Inside `conn`'s open transaction: the tenancy the gateway would enter, signed for this backend."""
    claim = key.claim(organization_id, enterprise_id, conn.get_server_pid())
    assert await conn.fetchval("SELECT fence_enter($1)", claim) is True
