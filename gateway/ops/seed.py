"""Deterministic demo data for both stores (`omnify-gateway seed`).

Every id is derived from a stable name, so a second run finds everything in
place and adds nothing. PostgreSQL data for one organization is written in a
single transaction (an organization row therefore means "complete"; see
`gateway.ops.seed_brain`); MongoDB documents are inserted only where their `_id` is
missing, which also repairs a run that was interrupted half way. What the
organizations are, and how large, is `gateway.ops.seed_spec`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

from gateway.ops.seed_brain import seed_brain
from gateway.ops.seed_enterprise import seed_enterprise
from gateway.ops.seed_spec import (
    DEMO_ORGS,
    NAMESPACE,
    PLATFORMS,
    ROLES,
    OrgSpec,
    oid,
    org_specs,
    seed_email,
    seed_subject,
    uid,
)

__all__ = [
    "DEMO_ORGS",
    "NAMESPACE",
    "PLATFORMS",
    "ROLES",
    "OrgSpec",
    "SeedReport",
    "oid",
    "org_specs",
    "seed",
    "seed_email",
    "seed_subject",
    "uid",
]

# Tables whose statistics the planner needs right after a seed: analysed at once rather than when
# autovacuum comes round, so the first queries are planned for the data they will read.
ANALYZED = ("campaigns", "creatives", "daily_metrics", "channels", "users", "organizations")


@dataclass
class SeedReport:
    organizations_created: int = 0
    organizations_skipped: int = 0
    mongo_documents_inserted: int = 0


async def seed(
    pg: asyncpg.Connection[asyncpg.Record],
    mongo: AsyncDatabase[dict[str, Any]],
    *,
    size: str = "demo",
    orgs: int | None = None,
    today: date | None = None,
    progress: bool | None = None,
) -> SeedReport:
    today = today or datetime.now(UTC).date()
    specs = org_specs(size, orgs)
    show = sys.stderr.isatty() if progress is None else progress
    report = SeedReport()
    with tqdm(total=len(specs) * 2, desc="seeding", unit="step", disable=not show) as bar:
        for spec in specs:
            bar.set_postfix_str(f"{spec.slug}: postgres")

            def channels_done(done: int, total: int, slug: str = spec.slug) -> None:
                bar.set_postfix_str(f"{slug}: postgres, {done}/{total} channels")

            if await seed_brain(pg, spec, today, channels_done):
                report.organizations_created += 1
            else:
                report.organizations_skipped += 1
            bar.update()
            bar.set_postfix_str(f"{spec.slug}: mongo")
            report.mongo_documents_inserted += await seed_enterprise(mongo, spec, today)
            bar.update()
        if report.organizations_created:
            bar.set_postfix_str("analyze")
            await pg.execute(f"ANALYZE {', '.join(ANALYZED)}")
    return report
