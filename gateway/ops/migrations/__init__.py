"""Schema migrations for both stores; `omnify-gateway migrate` runs them and is idempotent.

PostgreSQL: versioned SQL files in `sql/`, each applied once in its own
transaction and recorded (with a checksum) in `schema_migrations`. An
advisory lock serialises concurrent runs, e.g. several gateways starting.
MongoDB: collections and indexes, created by name so re-running is a no-op.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid

from gateway.ops.migrations.errors import MigrationError
from gateway.ops.migrations.logins import (
    APP_PRIVILEGE_ROLE,
    SYSTEM_PRIVILEGE_ROLE,
    provision_login,
    provision_logins,
    url_user,
    with_login,
)

__all__ = [
    "APP_PRIVILEGE_ROLE",
    "SYSTEM_PRIVILEGE_ROLE",
    "MigrationError",
    "ensure_fence_key",
    "migrate_mongo",
    "migrate_postgres",
    "provision_login",
    "provision_logins",
    "url_user",
    "with_login",
]

SQL_DIR = Path(__file__).parent / "sql"
MIGRATION_LOCK_ID = 0x0F1F7  # arbitrary, shared by every gateway process


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = SQL_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} must be named NNNN_name.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


async def migrate_postgres(conn: asyncpg.Connection[asyncpg.Record]) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        applied = {
            r["version"]: r["checksum"] for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        for migration in load_migrations():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(f"{migration.version:04d}_{migration.name}")
        if await ensure_fence_key(conn):
            applied_now.append("fence key")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now


def fence_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys, which the database's fence_verify() uses with sha256()."""
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


async def ensure_fence_key(conn: asyncpg.Connection[asyncpg.Record]) -> bool:
    """Store a random fence key unless there is one; True when one was created.

    Generated here rather than in SQL so it comes from the operating system's
    random source (`secrets`); the gateway reads it through the system login.
    """
    if await conn.fetchval("SELECT to_regclass('public.fence_keys')") is None:
        return False
    key = secrets.token_bytes(32)
    inner, outer = fence_pads(key)
    status = await conn.execute(
        "INSERT INTO fence_keys (id, key, inner_pad, outer_pad) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        key,
        inner,
        outer,
    )
    return status == "INSERT 0 1"


# Documents changed by an enterprise mutation carry its audit event until it reaches
# `audit_logs` (gateway/core/mongo_mutations.py); the sweep finds them by this counter.
PENDING_AUDIT_KEYS = [("pending_audit_count", ASCENDING)]

# collection -> [(index name, keys, options)]
MONGO_INDEXES: dict[str, list[tuple[str, list[tuple[str, int]], dict[str, Any]]]] = {
    "organizations": [
        ("slug_unique", [("slug", ASCENDING)], {"unique": True}),
        ("brain_org_id_unique", [("brain_org_id", ASCENDING)], {"unique": True, "sparse": True}),
    ],
    "users": [
        ("email_unique", [("email", ASCENDING)], {"unique": True}),
        ("oidc_subject_unique", [("oidc_subject", ASCENDING)], {"unique": True, "sparse": True}),
        ("org_email", [("organization_id", ASCENDING), ("email", ASCENDING)], {}),
    ],
    "subscriptions": [("org_period", [("organization_id", ASCENDING), ("current_period_end", DESCENDING)], {})],
    "agentkit_agents": [("org_name", [("organization_id", ASCENDING), ("name", ASCENDING)], {})],
    "agentkit_workflows": [
        ("org_name", [("organization_id", ASCENDING), ("name", ASCENDING)], {}),
        ("pending_audit", PENDING_AUDIT_KEYS, {"sparse": True}),
    ],
    # Runs list newest first: per workflow (Workflow.executions) and across the organization.
    "agentkit_executions": [
        (
            "org_workflow_created",
            [("organization_id", ASCENDING), ("workflow_id", ASCENDING), ("created_at", DESCENDING)],
            {},
        ),
        ("org_created", [("organization_id", ASCENDING), ("created_at", DESCENDING)], {}),
    ],
    "scheduled_workflows": [
        ("org_workflow", [("organization_id", ASCENDING), ("workflow_id", ASCENDING)], {}),
        ("org_next_run", [("organization_id", ASCENDING), ("next_run_at", ASCENDING)], {}),
        ("pending_audit", PENDING_AUDIT_KEYS, {"sparse": True}),
    ],
    "audit_logs": [
        ("event_id_unique", [("event_id", ASCENDING)], {"unique": True}),
        ("org_at", [("organization_id", ASCENDING), ("at", DESCENDING)], {}),
        ("org_action_at", [("organization_id", ASCENDING), ("action", ASCENDING), ("at", DESCENDING)], {}),
    ],
    # The default order of the checks: by framework, then control.
    "compliance_checks": [
        (
            "org_framework_control",
            [("organization_id", ASCENDING), ("framework", ASCENDING), ("control", ASCENDING)],
            {},
        )
    ],
    "analytics_data": [
        (
            "org_metric_date",
            [("organization_id", ASCENDING), ("metric", ASCENDING), ("period", ASCENDING), ("date", ASCENDING)],
            {},
        ),
    ],
    "usage_quotas": [
        ("org_resource", [("organization_id", ASCENDING), ("resource", ASCENDING)], {}),
        ("pending_audit", PENDING_AUDIT_KEYS, {"sparse": True}),
    ],
    "team_invitations": [
        ("org_status", [("organization_id", ASCENDING), ("status", ASCENDING)], {}),
        ("org_created", [("organization_id", ASCENDING), ("created_at", DESCENDING)], {}),
        ("token_hash_unique", [("token_hash", ASCENDING)], {"unique": True}),
        # Set only while an invitation is pending ("<organization_id>:<email>"): at most one
        # open invitation per address, even when two admins invite at the same moment.
        ("pending_key_unique", [("pending_key", ASCENDING)], {"unique": True, "sparse": True}),
        ("pending_audit", PENDING_AUDIT_KEYS, {"sparse": True}),
    ],
    # Idempotency keys of MongoDB mutations; `_id` is "<organization_id>:<key>", so one claim per key.
    "idempotency_keys": [
        ("org_state_claimed", [("organization_id", ASCENDING), ("state", ASCENDING), ("claimed_at", ASCENDING)], {}),
    ],
}


async def migrate_mongo(db: AsyncDatabase[dict[str, object]]) -> list[str]:
    created: list[str] = []
    collections = set(await db.list_collection_names())
    for collection, indexes in MONGO_INDEXES.items():
        if collection not in collections:
            try:
                await db.create_collection(collection)
                created.append(collection)
            except CollectionInvalid:
                pass  # another gateway created it meanwhile
        # Compare by indexed fields, not name or direction: nx-27017 renames the
        # indexes it creates and reports every direction as ascending.
        indexed: set[tuple[str, ...]] = {
            tuple(k for k, _ in info["key"]) for info in (await db[collection].index_information()).values()
        }
        for name, keys, options in indexes:
            if tuple(k for k, _ in keys) in indexed:
                continue
            await db[collection].create_index(keys, name=name, **options)
            created.append(f"{collection}.{name}")
    return created
