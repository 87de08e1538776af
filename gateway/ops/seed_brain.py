"""The Brain (PostgreSQL) half of the seed: one organization's rows, written in one transaction.

An organization row therefore means "complete". Rows are copied with COPY,
one entity after another; campaigns, creatives and their daily metrics are
made and copied a channel at a time, so an organization of any size needs
only one channel's rows in memory. Every value comes from one random
generator seeded by the organization's slug and drawn in a fixed order, so a
run is deterministic and the demo organizations' data never changes.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from gateway.ops.seed_spec import PLATFORMS, ROLES, OrgSpec, at, oid, seed_email, seed_subject, to_json, uid

if TYPE_CHECKING:
    Conn = asyncpg.Connection[asyncpg.Record]
Row = tuple[Any, ...]
# Called after each channel's rows are written: (channels done, channels in all).
Progress = Callable[[int, int], None]

BRAIN_ROLE = {"owner": "owner", "admin": "admin", "marketer": "marketer", "analyst": "viewer", "viewer": "viewer"}
OBJECTIVES = ["conversions", "traffic", "awareness", "leads"]
FORMATS = ["image", "video", "carousel", "text"]
THEMES = ["Spring", "Summer", "Retargeting", "Prospecting", "Brand", "Launch"]
CREATIVE_KINDS = ["Hero", "UGC", "Promo", "Testimonial", "Demo"]

COLUMNS = {
    "users": ["id", "organization_id", "auth_id", "email", "name", "role"],
    "channels": ["id", "organization_id", "platform", "name", "status"],
    "campaigns": [
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
    "creatives": [
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
    "daily_metrics": [
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
    "api_credentials": ["id", "organization_id", "platform", "encrypted_secret", "key_hint", "status"],
    "sync_jobs": [
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
}


async def copy(conn: Conn, table: str, rows: list[Row]) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])


@dataclass
class Org:
    """One organization being seeded: what its entities are made from."""

    spec: OrgSpec
    today: date
    id: UUID = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.id = uid("org", self.spec.slug)
        self.rng = random.Random(f"brain:{self.spec.slug}")


async def seed_brain(conn: Conn, spec: OrgSpec, today: date, progress: Progress | None = None) -> bool:
    """Writes one organization's Brain rows; False (and nothing written) when it is there already."""
    org = Org(spec, today)
    async with conn.transaction():
        # Serialise concurrent seeders of the same organization.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"seed:{spec.slug}")
        if await conn.fetchval("SELECT 1 FROM organizations WHERE id = $1", org.id):
            return False
        await conn.execute(
            "INSERT INTO organizations (id, name, slug, enterprise_org_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            org.id,
            spec.name,
            spec.slug,
            str(oid("org", spec.slug)),
            datetime.combine(today - timedelta(days=400), datetime.min.time(), UTC),
        )
        await copy(conn, "users", users(org))
        channels = [(uid("channel", spec.slug, p), org.id, p, f"{p.title()} Ads", "active") for p in PLATFORMS]
        await copy(conn, "channels", channels)
        campaigns: list[Row] = []
        for index, channel in enumerate(channels):
            batch = channel_rows(org, index, channel)
            for table in ("campaigns", "creatives", "daily_metrics"):
                await copy(conn, table, batch[table])
            campaigns += batch["campaigns"]
            if progress is not None:
                progress(index + 1, len(channels))
        await write_cohorts(conn, org, channels)
        await write_brain_states(conn, org)
        await copy(conn, "api_credentials", credentials(org))
        await copy(conn, "sync_jobs", sync_jobs(org))
        await write_action_logs(conn, org, campaigns)
    return True


def users(org: Org) -> list[Row]:
    slug, name = org.spec.slug, org.spec.name
    people: list[Row] = [
        (
            uid("user", slug, role),
            org.id,
            UUID(seed_subject(slug, role)),
            seed_email(slug, role),
            f"{name} {role.title()}",
            BRAIN_ROLE[role],
        )
        for role in ROLES
    ]
    # Marketers known only to the Brain store, to show the member join from one side.
    people += [
        (uid("user", slug, f"brain-{i}"), org.id, None, f"marketer{i}@{slug}.example", f"Marketer {i}", "marketer")
        for i in range(1, 4)
    ]
    return people


def channel_rows(org: Org, index: int, channel: Row) -> dict[str, list[Row]]:
    """One channel's campaigns, their creatives and the creatives' daily metrics, drawn in that order."""
    shape = org.spec.shape
    batch: dict[str, list[Row]] = {"campaigns": [], "creatives": [], "daily_metrics": []}
    for k in range(shape.campaigns_per_channel):
        n = index * shape.campaigns_per_channel + k
        campaign = campaign_row(org, n, channel)
        batch["campaigns"].append(campaign)
        quality = org.rng.uniform(0.4, 1.8)  # some campaigns convert well, some never
        for j in range(shape.creatives_per_campaign):
            creative = creative_row(org, n, j, campaign, channel[2])
            batch["creatives"].append(creative)
            batch["daily_metrics"] += daily_metrics(org, j, quality, creative, channel[0])
    return batch


def campaign_row(org: Org, n: int, channel: Row) -> Row:
    rng, slug, today = org.rng, org.spec.slug, org.today
    channel_id, platform = channel[0], channel[2]
    roll = rng.random()
    status = "active" if roll < 0.8 else ("paused" if roll < 0.92 else "archived")
    currency = org.spec.currency if n % 20 != 19 else ("GBP" if org.spec.currency != "GBP" else "USD")
    budget = Decimal(rng.randrange(5_000, 200_000)) / 100
    # Created from 200 days ago on, the demo's 60 campaigns a day apart; larger organizations several a day.
    campaigns = len(PLATFORMS) * org.spec.shape.campaigns_per_channel
    stamp = datetime.combine(today - timedelta(days=200 - n * 60 // campaigns), datetime.min.time(), UTC)
    name = f"{platform.title()} {rng.choice(THEMES)} {n:03d}"
    objective = rng.choice(OBJECTIVES)
    external = f"{platform}-cmp-{n:03d}"
    start = today - timedelta(days=180)
    return (
        uid("campaign", slug, n),
        org.id,
        channel_id,
        external,
        name,
        status,
        budget,
        currency,
        objective,
        start,
        None,
        stamp,
        stamp,
    )


def creative_row(org: Org, n: int, j: int, campaign: Row, platform: str) -> Row:
    rng, slug = org.rng, org.spec.slug
    status, stamp = campaign[5], campaign[11]
    c_status = (
        "active" if status == "active" and rng.random() < 0.85 else ("paused" if status != "archived" else "archived")
    )
    name = f"Creative {n:03d}-{j:02d} {rng.choice(CREATIVE_KINDS)}"
    format_ = rng.choice(FORMATS)
    external = f"{platform}-crv-{n:03d}-{j:02d}"
    headline = f"Headline {j} for {platform}"
    return (uid("creative", slug, n, j), org.id, campaign[0], external, name, format_, c_status, headline, stamp, stamp)


def daily_metrics(org: Org, j: int, quality: float, creative: Row, channel_id: UUID) -> list[Row]:
    """A creative's daily figures: its own reach, click rate (drifting, so some fatigue), cost and conversions."""
    rng, days = org.rng, org.spec.shape.metric_days
    base_impr = rng.randrange(200, 5000)
    ctr = rng.uniform(0.004, 0.05)
    trend = rng.uniform(-0.006, 0.006)  # per-day drift in CTR
    cpc = rng.uniform(0.2, 3.0)
    cvr = 0.0 if j % 10 == 9 else rng.uniform(0.01, 0.12) * quality
    aov = rng.uniform(20, 180)
    first_day = org.today - timedelta(days=days - 1)
    creative_id, campaign_id = creative[0], creative[2]
    rows: list[Row] = []
    for d in range(days):
        impressions = max(0, int(base_impr * rng.uniform(0.6, 1.4)))
        clicks = min(impressions, int(impressions * max(0.0, ctr * (1 + trend * d))))
        spend = Decimal(int(clicks * cpc * 100)) / 100
        conversions = int(clicks * cvr)
        revenue = Decimal(int(conversions * aov * 100)) / 100
        day = first_day + timedelta(days=d)
        rows.append(
            (org.id, day, channel_id, campaign_id, creative_id, impressions, clicks, spend, conversions, revenue)
        )
    return rows


async def write_cohorts(conn: Conn, org: Org, channels: list[Row]) -> None:
    rng, today, rows = org.rng, org.today, []
    for channel_id, _, platform, _, _ in channels:
        for m in range(12):
            month = (date(today.year, today.month, 1) - timedelta(days=31 * (m + 1))).replace(day=1)
            ltv30 = Decimal(rng.randrange(1000, 9000)) / 100
            retention = {f"m{i}": round(max(0.0, 1 - i * rng.uniform(0.05, 0.2)), 3) for i in range(0, 7)}
            customers = rng.randrange(50, 2000)
            ltv = (ltv30, ltv30 * Decimal("1.8"), ltv30 * Decimal("2.6"))
            key = uid("cohort", org.spec.slug, platform, m)
            rows.append((key, org.id, channel_id, month, customers, *ltv, org.spec.currency, to_json(retention)))
    await conn.executemany(
        "INSERT INTO cohorts (id, organization_id, channel_id, cohort_month, customers, ltv_30, ltv_90, ltv_180,"
        " currency, retention) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
        rows,
    )


async def write_brain_states(conn: Conn, org: Org) -> None:
    rows = []
    for module in ("memory", "oracle", "curiosity"):
        for version in range(1, 6):
            computed = datetime.combine(org.today - timedelta(days=(5 - version) * 7), datetime.min.time(), UTC)
            confidence = round(org.rng.uniform(0.5, 0.99), 2)
            state = {
                "summary": f"{module} v{version}",
                "confidence": confidence,
                "signals": [f"signal-{i}" for i in range(3)],
            }
            rows.append(
                (uid("brain", org.spec.slug, module, version), org.id, module, to_json(state), computed, version)
            )
    await conn.executemany(
        "INSERT INTO brain_states (id, organization_id, module, state, computed_at, version)"
        " VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
        rows,
    )


def credentials(org: Org) -> list[Row]:
    slug = org.spec.slug
    return [
        (
            uid("credential", slug, p),
            org.id,
            p,
            hashlib.sha256(f"secret:{slug}:{p}".encode()).digest(),
            f"…{hashlib.sha1(p.encode()).hexdigest()[:4]}",
            "active" if p != "email" else "revoked",
        )
        for p in PLATFORMS
    ]


def sync_jobs(org: Org) -> list[Row]:
    rng, jobs = org.rng, []
    for i in range(20):
        started = at(org.today, i, hour=3)
        failed = i % 7 == 3
        synced = 0 if failed else rng.randrange(100, 5000)
        error = "rate limited by platform" if failed else None
        finished = started + timedelta(minutes=rng.randrange(1, 30))
        status = "failed" if failed else "succeeded"
        jobs.append(
            (
                uid("sync", org.spec.slug, i),
                org.id,
                PLATFORMS[i % len(PLATFORMS)],
                status,
                synced,
                error,
                started,
                finished,
                started,
            )
        )
    return jobs


async def write_action_logs(conn: Conn, org: Org, campaigns: list[Row]) -> None:
    slug, logs = org.spec.slug, []
    for i in range(30):
        campaign = campaigns[i % len(campaigns)]
        budget = to_json({"dailyBudget": str(campaign[6])})
        actor = ("user", seed_subject(slug, "marketer"))
        target = ("updateCampaignBudget", "Campaign", str(campaign[0]))
        outcome = (budget, to_json({"ok": True}), "succeeded", at(org.today, i, hour=10))
        logs.append((uid("action", slug, i), org.id, *actor, *target, *outcome))
    await conn.executemany(
        "INSERT INTO action_logs (id, organization_id, actor_kind, actor_id, action, target_type, target_id, payload,"
        " result, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)",
        logs,
    )
