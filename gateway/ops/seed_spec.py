"""What the seeded organizations are: their names, sizes and the stable ids both stores' seeds derive.

Every id is derived from a stable name, so a second run finds everything in
place. The three demo organizations (acme, globex, initech) always have the
demo size; a large database adds organizations of varied sizes and one much
larger than the rest, so that statistics and plans see what a shared
production database holds: tenants of very different sizes side by side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from bson import ObjectId

NAMESPACE = UUID("6f6d6e69-6679-4761-7465-776179000000")
DEMO_ORGS = [
    ("acme", "Acme Corporation", "enterprise", "USD"),
    ("globex", "Globex", "growth", "EUR"),
    ("initech", "Initech", "starter", "USD"),
]
PLATFORMS = ["meta", "google", "tiktok", "shopify", "linkedin", "email"]
ROLES = ["owner", "admin", "marketer", "analyst", "viewer"]


@dataclass(frozen=True)
class Shape:
    """How much Brain data an organization has: campaigns per channel, creatives per campaign, days of metrics."""

    campaigns_per_channel: int = 10
    creatives_per_campaign: int = 20
    metric_days: int = 90

    def metric_rows(self) -> int:
        creatives = len(PLATFORMS) * self.campaigns_per_channel * self.creatives_per_campaign
        return creatives * self.metric_days


DEMO_SHAPE = Shape()  # 60 campaigns, 1,200 creatives, 108,000 metric rows
# The one organization of a large database that dwarfs the others: five times the demo's metrics.
LARGE_SHAPE = Shape(campaigns_per_channel=50)  # 300 campaigns, 6,000 creatives, 540,000 metric rows
# The other organizations of a large database, in turn: small and young to twice the demo's size.
VARIED_SHAPES = (
    Shape(4, 10, 30),
    Shape(12, 20),
    Shape(6, 15, 60),
    Shape(20, 20),
    Shape(8, 25),
    Shape(15, 18),
)


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    plan: str
    currency: str
    shape: Shape = DEMO_SHAPE


def org_specs(size: str, orgs: int | None) -> list[OrgSpec]:
    """The organizations of a database of `size` ("demo" or "large"), `orgs` of them (default 3 and 10).

    The demo organizations come first and keep the demo size either way. In a
    large database the fourth is the large one and the rest take the varied
    sizes in turn; in a demo database every organization has the demo size.
    """
    count = orgs if orgs is not None else (3 if size == "demo" else 10)
    specs = [OrgSpec(*row) for row in DEMO_ORGS[:count]]
    for index in range(len(specs), count):
        shape, plan = DEMO_SHAPE, "growth"
        if size == "large":
            varied = index - len(DEMO_ORGS) - 1
            shape, plan = (
                (LARGE_SHAPE, "enterprise") if varied < 0 else (VARIED_SHAPES[varied % len(VARIED_SHAPES)], plan)
            )
        specs.append(OrgSpec(f"org-{index + 1:03d}", f"Organization {index + 1}", plan, "USD", shape))
    return specs


def uid(*parts: object) -> UUID:
    return uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def oid(*parts: object) -> ObjectId:
    return ObjectId(hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()[:12])


def seed_subject(slug: str, role: str) -> str:
    """The OIDC subject of the seeded user holding `role` in `slug` (used by `token`)."""
    return str(uid("subject", slug, role))


def seed_email(slug: str, role: str) -> str:
    return f"{role}@{slug}.example"


def at(today: date, days_ago: float, hour: int = 9) -> datetime:
    """An instant `days_ago` days before yesterday, at `hour` (UTC).

    Counted from yesterday so that whatever the time of day the data is seeded,
    nothing that has happened (a run started, a job synced, an event logged) lies
    in the future, and what a client adds now is the newest.
    """
    yesterday = datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=1)
    return yesterday - timedelta(days=days_ago) + timedelta(hours=hour)


def to_json(value: Any) -> str:
    return json.dumps(value)
