"""The stores a benchmark runs on, set up as production runs them.

Embedded PostgreSQL and MongoDB-wire servers in `data_dir`, or the servers named by
BENCH_DATABASE_URL / BENCH_MONGO_URL (that PostgreSQL role must be a superuser: it
migrates and seeds). The gateway under test serves as the restricted login this
provisions (and its system login next to it), never as the owner.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import asyncpg
from pymongo import AsyncMongoClient

from gateway.ops.embedded import EmbeddedMongo, EmbeddedPostgres
from gateway.ops.migrations import migrate_mongo, migrate_postgres, provision_logins, url_user, with_login
from gateway.ops.seed import seed

BENCH_LOGIN = "omnify_gateway_bench"
BENCH_SYSTEM_LOGIN = "omnify_gateway_bench_system"


def system_url_of(app_url: str) -> str:
    """The system login's URL next to the request login's (DATABASE_SYSTEM_URL), with the same password."""
    return with_login(app_url, BENCH_SYSTEM_LOGIN, url_user(app_url)[1])


async def prepare_stores(
    data_dir: Path, mongo_db: str, *, seed_once: bool = False, size: str = "demo"
) -> tuple[str, str, str, list[Any]]:
    """(owner URL, the gateway's login URL, MongoDB URL, embedded servers to stop afterwards).

    `size` is the seed's: "demo" (acme, globex, initech) or "large" (ten organizations, one
    five times the others). With `seed_once`, a marker in `data_dir` keeps the data of an
    earlier run of that size.
    """
    pg_url, mongo_url = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_MONGO_URL")
    embedded: list[Any] = []
    if not pg_url:
        pg = EmbeddedPostgres(data_dir)
        pg.start()
        embedded.append(pg)
        pg_url = pg.url
    if not mongo_url:
        mongo = EmbeddedMongo(data_dir)
        mongo.start()
        embedded.append(mongo)
        mongo_url = mongo.url
    conn = await asyncpg.connect(pg_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await migrate_postgres(conn)
        await migrate_mongo(client[mongo_db])
        marker = data_dir / "seeded"
        if not (seed_once and marker.exists() and marker.read_text().strip() == size):
            started = time.perf_counter()
            report = await seed(conn, client[mongo_db], size=size, progress=False)
            await conn.execute("VACUUM ANALYZE")
            marker.write_text(f"{size}\n")
            rows = await conn.fetchval("SELECT count(*) FROM daily_metrics")
            print(
                f"seed ({size}: {report.organizations_created} organizations added, {rows:,} metric rows in all): "
                f"{time.perf_counter() - started:.1f} s"
            )
        app_url = with_login(pg_url, BENCH_LOGIN, secrets.token_urlsafe(18))
        await provision_logins(conn, app_url, system_url_of(app_url))
    finally:
        await conn.close()
        await client.close()
    return pg_url, app_url, mongo_url, embedded
