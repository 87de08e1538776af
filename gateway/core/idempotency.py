"""Idempotency keys, kept per organization and principal in PostgreSQL.

A key belongs to the principal that sent it (issuer + subject) within an
organization: keys of different callers never meet, so no caller can claim a
key that another will use, whether a colleague or a neighbour who holds one of
our invitation tokens. A key is claimed inside the mutation's own transaction:
the first request inserts the row and holds it until commit, so a concurrent
retry with the same key waits on the primary key and then sees the stored
response. A rolled-back attempt leaves no row, so the key can be used again.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from gateway.core import snapshot
from gateway.errors import BadUserInput, Conflict
from gateway.stores.postgres import TenantConnection

if TYPE_CHECKING:
    from gateway.core.auth import Principal

MAX_KEY_LENGTH = 200


def check_key(key: str) -> None:
    """An over-long or empty key is the caller's mistake, refused before anything is stored."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadUserInput(
            f"an idempotency key must be 1 to {MAX_KEY_LENGTH} characters (got {len(key)})",
            argument="idempotencyKey",
        )


def principal_key(principal: Principal) -> str:
    """The namespace of a caller's keys: a digest of issuer and subject (two issuers may reuse a subject)."""
    canonical = json.dumps([principal.issuer, principal.subject], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_hash(operation: str, arguments: Any) -> str:
    canonical = json.dumps({"op": operation, "args": snapshot.encode(arguments)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay(
    tx: TenantConnection, organization_key: str, principal: str, key: str, operation: str, digest: str
) -> Any | None:
    """The stored response for this key, or None when the key is new (and now ours until commit)."""
    check_key(key)
    # Taking a transaction-scoped advisory lock on the key serialises concurrent
    # first attempts without relying on unique-violation retries.
    await tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"idem:{organization_key}:{principal}:{key}")
    row = await tx.fetchrow(
        "SELECT operation, request_hash, response FROM idempotency_keys "
        "WHERE organization_key = $1 AND principal = $2 AND key = $3",
        organization_key,
        principal,
        key,
    )
    if row is None:
        return None
    if row["operation"] != operation or row["request_hash"] != digest:
        raise Conflict("this idempotency key was already used with different input", idempotencyKey=key)
    return snapshot.decode(row["response"])


async def remember(
    tx: TenantConnection, organization_key: str, principal: str, key: str, operation: str, digest: str, response: Any
) -> None:
    await tx.execute(
        "INSERT INTO idempotency_keys (organization_key, principal, key, operation, request_hash, response) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        organization_key,
        principal,
        key,
        operation,
        digest,
        snapshot.encode(response),
    )
