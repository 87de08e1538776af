"""Deterministic demo data for both stores (`omnify-gateway seed`).

Every id is derived from a stable name, so a second run finds everything in
place and adds nothing. PostgreSQL data for one organization is written in a
single transaction (an organization row therefore means "complete"); MongoDB
documents are inserted only where their `_id` is missing, which also repairs
a run that was interrupted half way.
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

NAMESPACE = UUID("6f6d6e69-6679-4761-7465-776179000000")
DEMO_ORGS = [
    ("acme", "Acme Corporation", "enterprise", "USD"),
    ("globex", "Globex", "growth", "EUR"),
    ("initech", "Initech", "starter", "USD"),
]
PLATFORMS = ["meta", "google", "tiktok", "shopify", "linkedin", "email"]
ROLES = ["owner", "admin", "marketer", "analyst", "viewer"]
BRAIN_ROLE = {"owner": "owner", "admin": "admin", "marketer": "marketer", "analyst": "viewer", "viewer": "viewer"}
ENTERPRISE_ROLE = {"owner": "owner", "admin": "admin", "marketer": "member", "analyst": "analyst", "viewer": "member"}
CAMPAIGNS_PER_CHANNEL = 10
CREATIVES_PER_CAMPAIGN = 20
METRIC_DAYS = 90


def uid(*parts: object) -> UUID:
    return uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def oid(*parts: object) -> ObjectId:
    return ObjectId(hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()[:12])


def seed_subject(slug: str, role: str) -> str:
    """The OIDC subject of the seeded user holding `role` in `slug` (used by `token`)."""
    return str(uid("subject", slug, role))


def seed_email(slug: str, role: str) -> str:
    return f"{role}@{slug}.example"


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    plan: str
    currency: str


def org_specs(size: str, orgs: int | None) -> list[OrgSpec]:
    count = orgs if orgs is not None else (3 if size == "demo" else 10)
    specs = [OrgSpec(*row) for row in DEMO_ORGS[:count]]
    for index in range(len(specs), count):
        specs.append(OrgSpec(f"org-{index + 1:03d}", f"Organization {index + 1}", "growth", "USD"))
    return specs


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
            if await _seed_brain(pg, spec, today):
                report.organizations_created += 1
            else:
                report.organizations_skipped += 1
            bar.update()
            bar.set_postfix_str(f"{spec.slug}: mongo")
            report.mongo_documents_inserted += await _seed_enterprise(mongo, spec, today)
            bar.update()
    return report


# --- PostgreSQL -------------------------------------------------------------------------


async def _copy(
    conn: asyncpg.Connection[asyncpg.Record], table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=columns)


async def _seed_brain(conn: asyncpg.Connection[asyncpg.Record], spec: OrgSpec, today: date) -> bool:
    org_id = uid("org", spec.slug)
    rng = random.Random(f"brain:{spec.slug}")
    async with conn.transaction():
        # Serialise concurrent seeders of the same organization.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"seed:{spec.slug}")
        if await conn.fetchval("SELECT 1 FROM organizations WHERE id = $1", org_id):
            return False
        created = datetime.combine(today - timedelta(days=400), datetime.min.time(), UTC)
        await conn.execute(
            "INSERT INTO organizations (id, name, slug, enterprise_org_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            org_id,
            spec.name,
            spec.slug,
            str(oid("org", spec.slug)),
            created,
        )
        users: list[tuple[UUID, UUID, UUID | None, str, str, str]] = [
            (
                uid("user", spec.slug, role),
                org_id,
                UUID(seed_subject(spec.slug, role)),
                seed_email(spec.slug, role),
                f"{spec.name} {role.title()}",
                BRAIN_ROLE[role],
            )
            for role in ROLES
        ]
        # Marketers known only to the Brain store, to show the member join from one side.
        users += [
            (
                uid("user", spec.slug, f"brain-{i}"),
                org_id,
                None,
                f"marketer{i}@{spec.slug}.example",
                f"Marketer {i}",
                "marketer",
            )
            for i in range(1, 4)
        ]
        await _copy(conn, "users", ["id", "organization_id", "auth_id", "email", "name", "role"], users)

        channels = [(uid("channel", spec.slug, p), org_id, p, f"{p.title()} Ads", "active") for p in PLATFORMS]
        await _copy(conn, "channels", ["id", "organization_id", "platform", "name", "status"], channels)

        campaigns: list[tuple[Any, ...]] = []
        creatives: list[tuple[Any, ...]] = []
        metrics: list[tuple[Any, ...]] = []
        objectives = ["conversions", "traffic", "awareness", "leads"]
        formats = ["image", "video", "carousel", "text"]
        first_day = today - timedelta(days=METRIC_DAYS - 1)
        for ci, (channel_id, _, platform, _, _) in enumerate(channels):
            for k in range(CAMPAIGNS_PER_CHANNEL):
                n = ci * CAMPAIGNS_PER_CHANNEL + k
                campaign_id = uid("campaign", spec.slug, n)
                roll = rng.random()
                status = "active" if roll < 0.8 else ("paused" if roll < 0.92 else "archived")
                currency = spec.currency if n % 20 != 19 else ("GBP" if spec.currency != "GBP" else "USD")
                budget = Decimal(rng.randrange(5_000, 200_000)) / 100
                stamp = datetime.combine(today - timedelta(days=200 - n), datetime.min.time(), UTC)
                campaigns.append(
                    (
                        campaign_id,
                        org_id,
                        channel_id,
                        f"{platform}-cmp-{n:03d}",
                        f"{platform.title()} {rng.choice(['Spring', 'Summer', 'Retargeting', 'Prospecting', 'Brand', 'Launch'])} {n:03d}",
                        status,
                        budget,
                        currency,
                        rng.choice(objectives),
                        today - timedelta(days=180),
                        None,
                        stamp,
                        stamp,
                    )
                )
                quality = rng.uniform(0.4, 1.8)  # some campaigns convert well, some never
                for j in range(CREATIVES_PER_CAMPAIGN):
                    creative_id = uid("creative", spec.slug, n, j)
                    c_status = (
                        "active"
                        if status == "active" and rng.random() < 0.85
                        else ("paused" if status != "archived" else "archived")
                    )
                    creatives.append(
                        (
                            creative_id,
                            org_id,
                            campaign_id,
                            f"{platform}-crv-{n:03d}-{j:02d}",
                            f"Creative {n:03d}-{j:02d} {rng.choice(['Hero', 'UGC', 'Promo', 'Testimonial', 'Demo'])}",
                            rng.choice(formats),
                            c_status,
                            f"Headline {j} for {platform}",
                            stamp,
                            stamp,
                        )
                    )
                    base_impr = rng.randrange(200, 5000)
                    ctr = rng.uniform(0.004, 0.05)
                    trend = rng.uniform(-0.006, 0.006)  # per-day drift in CTR, so some creatives fatigue
                    cpc = rng.uniform(0.2, 3.0)
                    cvr = 0.0 if j % 10 == 9 else rng.uniform(0.01, 0.12) * quality
                    aov = rng.uniform(20, 180)
                    for d in range(METRIC_DAYS):
                        impressions = max(0, int(base_impr * rng.uniform(0.6, 1.4)))
                        day_ctr = max(0.0, ctr * (1 + trend * d))
                        clicks = min(impressions, int(impressions * day_ctr))
                        spend = Decimal(int(clicks * cpc * 100)) / 100
                        conversions = int(clicks * cvr)
                        revenue = Decimal(int(conversions * aov * 100)) / 100
                        metrics.append(
                            (
                                org_id,
                                first_day + timedelta(days=d),
                                channel_id,
                                campaign_id,
                                creative_id,
                                impressions,
                                clicks,
                                spend,
                                conversions,
                                revenue,
                            )
                        )
        await _copy(
            conn,
            "campaigns",
            [
                "id",
                "organization_id",
                "channel_id",
                "external_id",
                "name",
                "status",
                "daily_budget",
                "currency",
                "objective",
                "start_date",
                "end_date",
                "created_at",
                "updated_at",
            ],
            campaigns,
        )
        await _copy(
            conn,
            "creatives",
            [
                "id",
                "organization_id",
                "campaign_id",
                "external_id",
                "name",
                "format",
                "status",
                "headline",
                "created_at",
                "updated_at",
            ],
            creatives,
        )
        await _copy(
            conn,
            "daily_metrics",
            [
                "organization_id",
                "date",
                "channel_id",
                "campaign_id",
                "creative_id",
                "impressions",
                "clicks",
                "spend",
                "conversions",
                "revenue",
            ],
            metrics,
        )

        cohort_rows = []
        for channel_id, _, platform, _, _ in channels:
            for m in range(12):
                month = date(today.year, today.month, 1) - timedelta(days=31 * (m + 1))
                month = month.replace(day=1)
                ltv30 = Decimal(rng.randrange(1000, 9000)) / 100
                retention = {f"m{i}": round(max(0.0, 1 - i * rng.uniform(0.05, 0.2)), 3) for i in range(0, 7)}
                cohort_rows.append(
                    (
                        uid("cohort", spec.slug, platform, m),
                        org_id,
                        channel_id,
                        month,
                        rng.randrange(50, 2000),
                        ltv30,
                        ltv30 * Decimal("1.8"),
                        ltv30 * Decimal("2.6"),
                        spec.currency,
                        retention,
                    )
                )
        await conn.executemany(
            "INSERT INTO cohorts (id, organization_id, channel_id, cohort_month, customers, ltv_30, ltv_90, ltv_180,"
            " currency, retention) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
            [(*row[:-1], _json(row[-1])) for row in cohort_rows],
        )
        states = []
        for module in ("memory", "oracle", "curiosity"):
            for version in range(1, 6):
                computed = datetime.combine(today - timedelta(days=(5 - version) * 7), datetime.min.time(), UTC)
                states.append(
                    (
                        uid("brain", spec.slug, module, version),
                        org_id,
                        module,
                        _json(
                            {
                                "summary": f"{module} v{version}",
                                "confidence": round(rng.uniform(0.5, 0.99), 2),
                                "signals": [f"signal-{i}" for i in range(3)],
                            }
                        ),
                        computed,
                        version,
                    )
                )
        await conn.executemany(
            "INSERT INTO brain_states (id, organization_id, module, state, computed_at, version) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
            states,
        )
        credentials = [
            (
                uid("credential", spec.slug, p),
                org_id,
                p,
                hashlib.sha256(f"secret:{spec.slug}:{p}".encode()).digest(),
                f"…{hashlib.sha1(p.encode()).hexdigest()[:4]}",
                "active" if p != "email" else "revoked",
            )
            for p in PLATFORMS
        ]
        await _copy(
            conn,
            "api_credentials",
            ["id", "organization_id", "platform", "encrypted_secret", "key_hint", "status"],
            credentials,
        )
        jobs = []
        for i in range(20):
            started = _at(today, i, hour=3)
            failed = i % 7 == 3
            jobs.append(
                (
                    uid("sync", spec.slug, i),
                    org_id,
                    PLATFORMS[i % len(PLATFORMS)],
                    "failed" if failed else "succeeded",
                    0 if failed else rng.randrange(100, 5000),
                    "rate limited by platform" if failed else None,
                    started,
                    started + timedelta(minutes=rng.randrange(1, 30)),
                    started,
                )
            )
        await _copy(
            conn,
            "sync_jobs",
            [
                "id",
                "organization_id",
                "platform",
                "status",
                "records_synced",
                "error",
                "started_at",
                "finished_at",
                "created_at",
            ],
            jobs,
        )
        logs = []
        for i in range(30):
            campaign = campaigns[i % len(campaigns)]
            at = _at(today, i, hour=10)
            logs.append(
                (
                    uid("action", spec.slug, i),
                    org_id,
                    "user",
                    seed_subject(spec.slug, "marketer"),
                    "updateCampaignBudget",
                    "Campaign",
                    str(campaign[0]),
                    _json({"dailyBudget": str(campaign[6])}),
                    _json({"ok": True}),
                    "succeeded",
                    at,
                )
            )
        await conn.executemany(
            "INSERT INTO action_logs (id, organization_id, actor_kind, actor_id, action, target_type, target_id, payload, result, status, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)",
            logs,
        )
    return True


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


# --- MongoDB ----------------------------------------------------------------------------


async def _insert_missing(db: AsyncDatabase[dict[str, Any]], collection: str, docs: list[dict[str, Any]]) -> int:
    if not docs:
        return 0
    inserted = 0
    for start in range(0, len(docs), 500):
        chunk = docs[start : start + 500]
        ids = [d["_id"] for d in chunk]
        existing = {d["_id"] async for d in db[collection].find({"_id": {"$in": ids}}, {"_id": 1})}
        missing = [d for d in chunk if d["_id"] not in existing]
        if missing:
            await db[collection].insert_many(missing, ordered=False)
            inserted += len(missing)
    return inserted


def _at(today: date, days_ago: float, hour: int = 9) -> datetime:
    """An instant `days_ago` days before yesterday, at `hour` (UTC).

    Counted from yesterday so that whatever the time of day the data is seeded,
    nothing that has happened (a run started, a job synced, an event logged) lies
    in the future, and what a client adds now is the newest.
    """
    yesterday = datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=1)
    return yesterday - timedelta(days=days_ago) + timedelta(hours=hour)


async def _seed_enterprise(db: AsyncDatabase[dict[str, Any]], spec: OrgSpec, today: date) -> int:
    rng = random.Random(f"enterprise:{spec.slug}")
    org_oid = oid("org", spec.slug)
    org = str(org_oid)
    docs: dict[str, list[dict[str, Any]]] = {}
    docs["organizations"] = [
        {
            "_id": org_oid,
            "name": spec.name,
            "slug": spec.slug,
            "plan": spec.plan,
            "brain_org_id": str(uid("org", spec.slug)),
            "created_at": _at(today, 400),
        }
    ]
    users = [
        {
            "_id": oid("user", spec.slug, role),
            "organization_id": org,
            "email": seed_email(spec.slug, role),
            "name": f"{spec.name} {role.title()}",
            "roles": [ENTERPRISE_ROLE[role]],
            "oidc_subject": seed_subject(spec.slug, role),
            "status": "active",
            "last_login_at": _at(today, rng.randrange(0, 20)),
        }
        for role in ROLES
    ]
    # Enterprise-only members (no Brain account), some invited but never logged in.
    users += [
        {
            "_id": oid("user", spec.slug, f"ent-{i}"),
            "organization_id": org,
            "email": f"analyst{i}@{spec.slug}.example",
            "name": f"Analyst {i}",
            "roles": ["analyst"],
            "status": "active" if i % 3 else "disabled",
            "last_login_at": _at(today, rng.randrange(0, 60)) if i % 2 else None,
        }
        for i in range(1, 9)
    ]
    docs["users"] = users
    seats = {"starter": 15, "growth": 25, "enterprise": 100}[spec.plan]
    price = {"starter": 4900, "growth": 29900, "enterprise": 149900}[spec.plan]
    period_start = datetime.combine(today.replace(day=1), datetime.min.time(), UTC)
    docs["subscriptions"] = [
        {
            "_id": oid("subscription", spec.slug, "current"),
            "organization_id": org,
            "plan": spec.plan,
            "status": "active",
            "seats": seats,
            "amount_cents": price,
            "currency": spec.currency,
            "current_period_start": period_start,
            "current_period_end": period_start + timedelta(days=31),
        },
        {
            "_id": oid("subscription", spec.slug, "previous"),
            "organization_id": org,
            "plan": "starter",
            "status": "canceled",
            "seats": 5,
            "amount_cents": 4900,
            "currency": spec.currency,
            "current_period_start": period_start - timedelta(days=400),
            "current_period_end": period_start - timedelta(days=369),
        },
    ]
    kinds = [
        ("Budget Optimizer", "optimizer"),
        ("Creative Analyst", "analyst"),
        ("Anomaly Watcher", "monitor"),
        ("Report Writer", "reporter"),
        ("Audience Builder", "planner"),
    ]
    agents = [
        {
            "_id": oid("agent", spec.slug, i),
            "organization_id": org,
            "name": name,
            "kind": kind,
            "model": rng.choice(["gpt-4o", "claude-sonnet", "llama-3-70b"]),
            "config": {"temperature": round(rng.uniform(0, 1), 2)},
            "enabled": i != 4,
            "created_at": _at(today, 300 - i),
        }
        for i, (name, kind) in enumerate(kinds)
    ]
    docs["agentkit_agents"] = agents
    workflows = []
    for w in range(8):
        steps = [
            {
                "agent_id": str(agents[(w + s) % len(agents)]["_id"]),
                "action": rng.choice(["analyze", "summarize", "recommend", "notify"]),
                "params": {"lookback_days": rng.choice([7, 14, 30])},
            }
            for s in range(1 + w % 3)
        ]
        workflows.append(
            {
                "_id": oid("workflow", spec.slug, w),
                "organization_id": org,
                "name": f"Workflow {w + 1}: {kinds[w % 5][0]} loop",
                "description": f"Runs {len(steps)} step(s) over recent performance",
                "steps": steps,
                "version": 1 + w % 4,
                "status": "active" if w < 5 else ("draft" if w < 7 else "archived"),
                "created_at": _at(today, 200 - w),
                "updated_at": _at(today, 10 + w),
            }
        )
    docs["agentkit_workflows"] = workflows
    executions = []
    for w, workflow in enumerate(workflows):
        for e in range(15):
            started = _at(today, e * 2 + w * 0.1, hour=6)
            status = "succeeded" if e % 6 else ("failed" if e % 12 == 0 else "running")
            executions.append(
                {
                    "_id": oid("execution", spec.slug, w, e),
                    "organization_id": org,
                    "workflow_id": str(workflow["_id"]),
                    "status": status,
                    "input": {"window": "7d"},
                    "output": {"recommendations": rng.randrange(0, 6)} if status == "succeeded" else None,
                    "error": "agent timed out" if status == "failed" else None,
                    "triggered_by": rng.choice(["schedule", "user", "api"]),
                    "created_at": started,
                    "started_at": started,
                    "finished_at": started + timedelta(minutes=3) if status != "running" else None,
                }
            )
    docs["agentkit_executions"] = executions
    docs["scheduled_workflows"] = [
        {
            "_id": oid("schedule", spec.slug, w),
            "organization_id": org,
            "workflow_id": str(workflows[w]["_id"]),
            "cron": cron,
            "timezone": tz,
            "enabled": w != 3,
            "next_run_at": _at(today, -2, hour=6),  # tomorrow
            "last_run_at": _at(today, 0, hour=6),
        }
        for w, (cron, tz) in enumerate(
            [
                ("0 6 * * *", "UTC"),
                ("0 */4 * * *", "UTC"),
                ("30 8 * * 1", "Europe/Berlin"),
                ("0 0 1 * *", "America/New_York"),
            ]
        )
    ]
    actions = [
        "user.login",
        "campaign.budget_updated",
        "creative.paused",
        "workflow.run",
        "invitation.sent",
        "settings.updated",
    ]
    docs["audit_logs"] = [
        {
            "_id": oid("audit", spec.slug, i),
            "organization_id": org,
            "actor": {
                "kind": "user",
                "id": seed_subject(spec.slug, ROLES[i % 5]),
                "email": seed_email(spec.slug, ROLES[i % 5]),
            },
            "action": actions[i % len(actions)],
            "target": {"type": "Organization", "id": org},
            "details": {"seq": i},
            "request_id": f"seed-{i}",
            "event_id": str(uid("audit-event", spec.slug, i)),
            "at": _at(today, i * 0.5),
        }
        for i in range(200)
    ]
    controls = {
        "SOC2": ["CC6.1", "CC6.6", "CC7.2", "CC8.1", "A1.2"],
        "GDPR": ["Art.5", "Art.17", "Art.25", "Art.30", "Art.32"],
        "HIPAA": ["164.308", "164.310", "164.312", "164.314", "164.316"],
    }
    docs["compliance_checks"] = [
        {
            "_id": oid("compliance", spec.slug, fw, c),
            "organization_id": org,
            "framework": fw,
            "control": c,
            "status": rng.choice(["passing", "passing", "passing", "failing", "pending"]),
            "evidence": f"Automated check of {c}",
            "checked_at": _at(today, rng.randrange(0, 30)),
        }
        for fw, cs in controls.items()
        for c in cs
    ]
    analytics = []
    for metric, base in (("sessions", 4000), ("signups", 120), ("mrr_cents", 2_500_000)):
        for d in range(90):
            day = today - timedelta(days=d)
            analytics.append(
                {
                    "_id": oid("analytics", spec.slug, metric, "day", d),
                    "organization_id": org,
                    "metric": metric,
                    "dimensions": {"source": "all"},
                    "period": "day",
                    "date": datetime.combine(day, datetime.min.time(), UTC),
                    "value": float(int(base * rng.uniform(0.7, 1.3))),
                }
            )
            if day.weekday() == 0:
                analytics.append(
                    {
                        "_id": oid("analytics", spec.slug, metric, "week", d),
                        "organization_id": org,
                        "metric": metric,
                        "dimensions": {"source": "all"},
                        "period": "week",
                        "date": datetime.combine(day, datetime.min.time(), UTC),
                        "value": float(int(base * 7 * rng.uniform(0.8, 1.2))),
                    }
                )
        for m in range(3):
            first = (today.replace(day=1) - timedelta(days=28 * m)).replace(day=1)
            analytics.append(
                {
                    "_id": oid("analytics", spec.slug, metric, "month", m),
                    "organization_id": org,
                    "metric": metric,
                    "dimensions": {"source": "all"},
                    "period": "month",
                    "date": datetime.combine(first, datetime.min.time(), UTC),
                    "value": float(int(base * 30 * rng.uniform(0.9, 1.1))),
                }
            )
    docs["analytics_data"] = analytics
    # The seats quota's limit is the subscription's paid seats: invitations are checked against it.
    limits = {"starter": (10_000, 50, 15), "growth": (100_000, 500, 25), "enterprise": (1_000_000, 5_000, 100)}[
        spec.plan
    ]
    docs["usage_quotas"] = [
        {
            "_id": oid("quota", spec.slug, resource),
            "organization_id": org,
            "resource": resource,
            "limit": limit,
            "used": int(limit * rng.uniform(0.1, 0.6)),
            "period_start": period_start,
            "period_end": period_start + timedelta(days=31),
        }
        for resource, limit in zip(("api_calls", "workflow_runs", "seats"), limits, strict=True)
    ]
    docs["team_invitations"] = [
        {
            "_id": oid("invitation", spec.slug, i),
            "organization_id": org,
            "email": f"invitee{i}@{spec.slug}.example",
            "role": ["analyst", "member", "admin"][i % 3],
            "token_hash": hashlib.sha256(f"invite:{spec.slug}:{i}".encode()).hexdigest(),
            "invited_by": str(oid("user", spec.slug, "admin")),
            "status": ["pending", "accepted", "revoked", "expired", "pending", "pending"][i],
            "expires_at": _at(today, -8 + i * 3),  # from a week ahead to expired
            "created_at": _at(today, 14 - i),
        }
        for i in range(6)
    ]
    # Seats taken: every enterprise account plus every open invitation.
    open_invitations = [
        i for i in docs["team_invitations"] if i["status"] == "pending" and i["expires_at"] > datetime.now(UTC)
    ]
    for quota in docs["usage_quotas"]:
        if quota["resource"] == "seats":
            quota["used"] = len(users) + len(open_invitations)
    total = 0
    for collection, items in docs.items():
        total += await _insert_missing(db, collection, items)
    return total
