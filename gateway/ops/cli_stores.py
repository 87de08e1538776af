"""`omnify-gateway migrate` and `seed`: the stores' schema, logins and demo data (also run by `dev`)."""

from __future__ import annotations

import argparse
import asyncio
import os

from gateway.core.config import ConfigError


def _store_urls_from_env() -> tuple[str, str, str, str]:
    """(owner URL, run-time login URL, MongoDB URL, MongoDB database) for migrate and seed."""
    missing = [name for name in ("DATABASE_URL", "MONGO_URL") if not os.environ.get(name)]
    if missing:
        raise ConfigError([f"{name} is not set" for name in missing])
    login_url = os.environ["DATABASE_URL"]
    owner_url = os.environ.get("DATABASE_MIGRATE_URL") or login_url
    return owner_url, login_url, os.environ["MONGO_URL"], os.environ.get("MONGO_DB", "omnify_cloud")


async def run_migrations(
    database_url: str, mongo_url: str, mongo_db: str, login_url: str | None = None, system_url: str | None = None
) -> tuple[list[str], list[str]]:
    """Migrate both stores as the owner (`database_url`), then provision the run-time logins of `login_url`
    (requests) and `system_url` (cross-tenant system work)."""
    import asyncpg
    from pymongo import AsyncMongoClient

    from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins

    conn = await asyncpg.connect(database_url)
    try:
        pg_applied = await migrate_postgres(conn)
        if login_url is not None and login_url != database_url:
            logins = await provision_logins(conn, login_url, system_url)
            pg_applied += [f"login {login}" for login in logins]
    finally:
        await conn.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url, serverSelectionTimeoutMS=10_000)
    try:
        mongo_created = await migrate_mongo(client[mongo_db])
    finally:
        await client.close()
    return pg_applied, mongo_created


async def run_seed(database_url: str, mongo_url: str, mongo_db: str, size: str, orgs: int | None) -> str:
    import asyncpg
    from pymongo import AsyncMongoClient

    from gateway.ops.seed import seed

    conn = await asyncpg.connect(database_url)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True
    )
    try:
        report = await seed(conn, client[mongo_db], size=size, orgs=orgs)
    finally:
        await conn.close()
        await client.close()
    return (
        f"seeded {report.organizations_created} organization(s), {report.organizations_skipped} already present; "
        f"{report.mongo_documents_inserted} MongoDB document(s) inserted"
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    owner_url, login_url, mongo_url, mongo_db = _store_urls_from_env()
    system_url = os.environ.get("DATABASE_SYSTEM_URL") or None
    pg_applied, mongo_created = asyncio.run(run_migrations(owner_url, mongo_url, mongo_db, login_url, system_url))
    print(f"postgres: {', '.join(pg_applied) if pg_applied else 'up to date'}")
    if system_url is None:
        print("postgres: DATABASE_SYSTEM_URL is not set, so no system login was provisioned (`serve` needs one)")
    print(f"mongo: {len(mongo_created)} collection(s)/index(es) created" if mongo_created else "mongo: up to date")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    owner_url, _, mongo_url, mongo_db = _store_urls_from_env()
    print(asyncio.run(run_seed(owner_url, mongo_url, mongo_db, args.size, args.orgs)))
    return 0
