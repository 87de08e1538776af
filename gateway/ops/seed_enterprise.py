"""MongoDB's demo documents of one organization, collection by collection (see gateway.ops.seed).

Each part draws from the organization's one random stream in a fixed order, so the documents are
the same on every run.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from gateway.ops.seed_spec import ROLES, OrgSpec, oid, seed_email, seed_subject, uid
from gateway.ops.seed_spec import at as _at

ENTERPRISE_ROLE = {"owner": "owner", "admin": "admin", "marketer": "member", "analyst": "analyst", "viewer": "member"}
Docs = dict[str, list[dict[str, Any]]]


async def seed_enterprise(db: AsyncDatabase[dict[str, Any]], spec: OrgSpec, today: date) -> int:
    """Inserts the organization's documents that are missing; the number inserted."""
    rng = random.Random(f"enterprise:{spec.slug}")
    org_oid = oid("org", spec.slug)
    org = str(org_oid)
    docs: Docs = {}
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
    docs["users"] = _users(spec, org, today, rng)
    docs["subscriptions"] = _subscriptions(spec, org, today)
    docs.update(_agentkit(spec, org, today, rng))
    docs["audit_logs"] = _audit_logs(spec, org, today)
    docs["compliance_checks"] = _compliance_checks(spec, org, today, rng)
    docs["analytics_data"] = _analytics(spec, org, today, rng)
    docs.update(_quotas_and_invitations(spec, org, today, rng, seated=len(docs["users"])))
    total = 0
    for collection, items in docs.items():
        total += await _insert_missing(db, collection, items)
    return total


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


def _period_start(today: date) -> datetime:
    return datetime.combine(today.replace(day=1), datetime.min.time(), UTC)


def _users(spec: OrgSpec, org: str, today: date, rng: random.Random) -> list[dict[str, Any]]:
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
    return users


def _subscriptions(spec: OrgSpec, org: str, today: date) -> list[dict[str, Any]]:
    seats = {"starter": 15, "growth": 25, "enterprise": 100}[spec.plan]
    price = {"starter": 4900, "growth": 29900, "enterprise": 149900}[spec.plan]
    period_start = _period_start(today)
    return [
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


def _agentkit(spec: OrgSpec, org: str, today: date, rng: random.Random) -> Docs:
    agents, workflows = _agents_and_workflows(spec, org, today, rng)
    executions, schedules = _runs(spec, org, today, rng, workflows)
    return {
        "agentkit_agents": agents,
        "agentkit_workflows": workflows,
        "agentkit_executions": executions,
        "scheduled_workflows": schedules,
    }


def _agents_and_workflows(
    spec: OrgSpec, org: str, today: date, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
    return agents, workflows


def _runs(
    spec: OrgSpec, org: str, today: date, rng: random.Random, workflows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each workflow's executions, and the schedules of the first four."""
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
    schedules = [
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
    return executions, schedules


def _audit_logs(spec: OrgSpec, org: str, today: date) -> list[dict[str, Any]]:
    actions = [
        "user.login",
        "campaign.budget_updated",
        "creative.paused",
        "workflow.run",
        "invitation.sent",
        "settings.updated",
    ]
    return [
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


def _compliance_checks(spec: OrgSpec, org: str, today: date, rng: random.Random) -> list[dict[str, Any]]:
    controls = {
        "SOC2": ["CC6.1", "CC6.6", "CC7.2", "CC8.1", "A1.2"],
        "GDPR": ["Art.5", "Art.17", "Art.25", "Art.30", "Art.32"],
        "HIPAA": ["164.308", "164.310", "164.312", "164.314", "164.316"],
    }
    return [
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


def _analytics(spec: OrgSpec, org: str, today: date, rng: random.Random) -> list[dict[str, Any]]:
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
    return analytics


def _quotas_and_invitations(spec: OrgSpec, org: str, today: date, rng: random.Random, *, seated: int) -> Docs:
    period_start = _period_start(today)
    # The seats quota's limit is the subscription's paid seats: invitations are checked against it.
    limits = {"starter": (10_000, 50, 15), "growth": (100_000, 500, 25), "enterprise": (1_000_000, 5_000, 100)}[
        spec.plan
    ]
    quotas: list[dict[str, Any]] = [
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
    invitations: list[dict[str, Any]] = [
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
    open_invitations = [i for i in invitations if i["status"] == "pending" and i["expires_at"] > datetime.now(UTC)]
    for quota in quotas:
        if quota["resource"] == "seats":
            quota["used"] = seated + len(open_invitations)
    return {"usage_quotas": quotas, "team_invitations": invitations}
