"""A digest of everything both stores hold, to assert that a request changed nothing.

Every PostgreSQL table is hashed row by row inside the server (one statement
each), every MongoDB collection document by document. Audit events in flight
from earlier tests are waited for first, so the digest is stable.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import asyncpg
from bson import json_util
from pymongo import AsyncMongoClient

from tests.conftest import Stores

SKIPPED_TABLES = ("schema_migrations",)


async def store_digest(stores: Stores) -> str:
    conn = await asyncpg.connect(stores.database_url)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stores.mongo_url, tz_aware=True)
    try:
        for _ in range(300):
            if not await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"):
                break
            await asyncio.sleep(0.1)
        h = hashlib.sha256()
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT tablename = ANY($1) ORDER BY 1",
            list(SKIPPED_TABLES),
        )
        for record in tables:
            table = record["tablename"]
            rows = await conn.fetchval(f"SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM \"{table}\" t")
            h.update(f"{table}:{rows}".encode())
        db = mongo[stores.mongo_db]
        for name in sorted(await db.list_collection_names()):
            docs = await db[name].find({}).sort("_id", 1).to_list(None)
            h.update(f"{name}:{json_util.dumps(docs, sort_keys=True)}".encode())
        return h.hexdigest()
    finally:
        await conn.close()
        await mongo.close()
