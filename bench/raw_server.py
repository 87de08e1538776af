"""A hand-written baseline for bench/compare.py: the benchmark's queries without GraphQL.

    DATABASE_URL=... MONGO_URL=... MONGO_DB=... OIDC_ISSUER=... OIDC_AUDIENCE=... \\
        python -m uvicorn raw_server:app --factory --app-dir bench --workers N --port P

Plain ASGI + asyncpg + PyMongo + orjson. It answers exactly the documents
bench/compare.py sends (looked up by their text), doing what the gateway must
do at the least: validate the bearer token against the issuer's JWKS, find the
organization (cached), open the same tenant transaction (`BEGIN ...; SET LOCAL
ROLE ...; SELECT fence_enter(<claim signed for the backend>)`), run one query per list,
and write a `{"data": ...}` body whose `data` equals the gateway's. Anything
else gets a 400. It is a yardstick, not a server to deploy.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson
from joserfc import jwt
from joserfc.jwk import KeySet
from pymongo import AsyncMongoClient

HERE = Path(__file__).resolve().parent
APP_ROLE = "omnify_app"

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


def global_id(type_name: str, raw: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def raw_id(global_id_: str) -> UUID:
    padded = global_id_ + "=" * (-len(global_id_) % 4)
    return UUID(base64.urlsafe_b64decode(padded).decode().partition(":")[2])


def money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


DELIVERY = ("active", "paused", "archived")
SYNC_JOB = EXECUTION = ("queued", "running", "succeeded", "failed")


def tally(statuses: tuple[str, ...], counts: Any) -> list[dict[str, Any]]:
    """Every status in the schema's order with its count, zeros included."""
    found = {status: count for status, count in counts}
    return [{"status": s.upper(), "count": found.get(s, 0)} for s in statuses]


# The fence key, read as the owner at start: the claim is signed here as the gateway signs it.
FENCE_KEY = b""


def begin(conn: Any, org: UUID, *, read_only: bool, enterprise_id: str | None = None) -> str:
    """One simple-protocol round trip, the claim inlined (a yardstick's shortcut: the gateway binds it)."""
    mode = "ISOLATION LEVEL REPEATABLE READ READ ONLY" if read_only else "ISOLATION LEVEL READ COMMITTED"
    body = f"1:{org}:{enterprise_id or ''}"
    mac = hmac.new(FENCE_KEY, f"{body}:{conn.get_server_pid()}".encode(), hashlib.sha256).hexdigest()
    return f"BEGIN {mode}; SET LOCAL ROLE {APP_ROLE}; SELECT fence_enter('{body}:{mac}')"


CAMPAIGNS_50x20 = (HERE / "campaigns.graphql").read_text()
CAMPAIGNS_TOTALS = (HERE / "campaigns_totals.graphql").read_text()
DASHBOARD = (HERE / "dashboard.graphql").read_text()
SHIFT = "mutation($i: ShiftBudgetInput!) { shiftBudget(input: $i) { userErrors { code } } }"

PERF = """
    round(coalesce(sum(m.spend), 0), 2) AS spend,
    round(coalesce(sum(m.revenue), 0), 2) AS revenue,
    round(sum(m.clicks)::numeric / nullif(sum(m.impressions), 0), 6)::float8 AS ctr,
    round(sum(m.revenue) / nullif(sum(m.spend), 0), 4)::float8 AS roas
"""


class Raw:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool[asyncpg.Record] | None = None
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGO_URL"], tz_aware=True)
        self.db = self.mongo[os.environ.get("MONGO_DB", "omnify_cloud")]
        self.issuer = os.environ["OIDC_ISSUER"].rstrip("/")
        self.audience = os.environ["OIDC_AUDIENCE"]
        self.keys: KeySet | None = None
        self.orgs: dict[str, tuple[str, UUID, str]] = {}

    async def start(self) -> None:
        global FENCE_KEY
        self.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=20)
        FENCE_KEY = bytes(await self.pool.fetchval("SELECT key FROM fence_keys WHERE id = 1"))
        async with httpx.AsyncClient() as http:
            config = (await http.get(f"{self.issuer}/.well-known/openid-configuration")).json()
            self.keys = KeySet.import_key_set((await http.get(config["jwks_uri"])).json())

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        await self.mongo.close()

    def claims(self, token: str) -> dict[str, Any]:
        assert self.keys is not None
        decoded = jwt.decode(token, self.keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.audience}
        ).validate(decoded.claims)
        return dict(decoded.claims)

    async def org(self, slug: str) -> tuple[str, UUID, str]:
        found = self.orgs.get(slug)
        if found is None:
            doc = await self.db.organizations.find_one({"slug": slug})
            assert doc is not None
            found = self.orgs[slug] = (str(doc["_id"]), UUID(doc["brain_org_id"]), doc["name"])
        return found

    # --- the documents -----------------------------------------------------------------------

    async def campaigns(self, org: tuple[str, UUID, str], variables: dict[str, Any], totals: bool) -> dict[str, Any]:
        """campaigns.graphql, or with `totals` campaigns_totals.graphql (each campaign's and creative's totals)."""
        assert self.pool is not None
        perf: dict[UUID, Any] = {}
        async with self.pool.acquire() as conn:
            await conn.execute(begin(conn, org[1], read_only=True))
            try:
                campaigns = await conn.fetch(
                    "SELECT id, name, status, daily_budget, currency FROM campaigns "
                    "WHERE organization_id = $1 ORDER BY name, id LIMIT 50",
                    org[1],
                )
                creatives = await conn.fetch(
                    "SELECT campaign_id, id, name, status, format FROM (SELECT campaign_id, id, name, status, format, "
                    "row_number() OVER (PARTITION BY campaign_id ORDER BY name, id) AS position FROM creatives "
                    "WHERE organization_id = $1 AND campaign_id = ANY($2::uuid[])) ranked WHERE position <= 20 "
                    "ORDER BY campaign_id, position",
                    org[1],
                    [c["id"] for c in campaigns],
                )
                if totals:
                    days = (dt.date.fromisoformat(variables["from"]), dt.date.fromisoformat(variables["to"]))
                    perf = await totals_of(conn, org[1], "campaign_id", [c["id"] for c in campaigns], days)
                    perf |= await totals_of(conn, org[1], "creative_id", [k["id"] for k in creatives], days)
            finally:
                await conn.execute("COMMIT")
        by_campaign: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        for k in creatives:
            node = {
                "id": global_id("Creative", k["id"]),
                "name": k["name"],
                "status": k["status"].upper(),
                "format": k["format"].upper(),
            }
            if totals:
                p = perf.get(k["id"])
                node["performance"] = {
                    "spend": {"amount": money(p["spend"]) if p else "0.00"},
                    "revenue": {"amount": money(p["revenue"]) if p else "0.00"},
                    "roas": p["roas"] if p else None,
                    "ctr": p["ctr"] if p else None,
                }
            by_campaign[k["campaign_id"]].append({"node": node})
        edges = []
        for c in campaigns:
            currency = c["currency"].strip()
            node = {
                "id": global_id("Campaign", c["id"]),
                "name": c["name"],
                "status": c["status"].upper(),
                "dailyBudget": {"amount": money(c["daily_budget"]), "currency": currency},
            }
            if totals:
                p = perf.get(c["id"])
                node["performance"] = {
                    "spend": {"amount": money(p["spend"]) if p else "0.00", "currency": currency},
                    "revenue": {"amount": money(p["revenue"]) if p else "0.00"},
                    "roas": p["roas"] if p else None,
                }
            node["creatives"] = {"edges": by_campaign[c["id"]]}
            edges.append({"node": node})
        return {"organization": {"campaigns": {"edges": edges}}}

    async def dashboard(self, org: tuple[str, UUID, str], variables: dict[str, Any]) -> dict[str, Any]:
        assert self.pool is not None
        n, m = int(variables["n"]), int(variables["m"])
        start, end = dt.date.fromisoformat(variables["from"]), dt.date.fromisoformat(variables["to"])
        enterprise_id, brain_id, name = org
        async with self.pool.acquire() as conn:
            await conn.execute(begin(conn, brain_id, read_only=True))
            try:
                brain_emails = [
                    r["email"]
                    for r in await conn.fetch(
                        'SELECT email FROM users WHERE organization_id = $1 ORDER BY email COLLATE "C" LIMIT 20',
                        brain_id,
                    )
                ]
                total = await conn.fetchval("SELECT count(*) FROM campaigns WHERE organization_id = $1", brain_id)
                status_counts = {
                    table: await conn.fetch(
                        f"SELECT status, count(*) FROM {table} WHERE organization_id = $1 GROUP BY status", brain_id
                    )
                    for table in ("campaigns", "creatives", "sync_jobs")
                }
                campaigns = await conn.fetch(
                    "SELECT c.id, c.name, c.status, c.daily_budget, c.currency, ch.platform FROM campaigns c "
                    "JOIN channels ch ON ch.id = c.channel_id AND ch.organization_id = c.organization_id "
                    "WHERE c.organization_id = $1 ORDER BY c.name, c.id LIMIT $2",
                    brain_id,
                    n,
                )
                ids = [c["id"] for c in campaigns]
                campaign_perf = {
                    r["key"]: r
                    for r in await conn.fetch(
                        f"SELECT m.campaign_id AS key, {PERF} FROM daily_metrics m WHERE m.organization_id = $1 "
                        "AND m.campaign_id = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 GROUP BY m.campaign_id",
                        brain_id,
                        ids,
                        start,
                        end,
                    )
                }
                weekly = await conn.fetch(
                    "WITH sums AS (SELECT m.channel_id, ch.name, ch.platform, c.currency, "
                    "date_trunc('week', m.date::timestamp)::date AS period, sum(m.spend) AS spend, "
                    "sum(m.revenue) AS revenue FROM daily_metrics m JOIN campaigns c ON c.organization_id = "
                    "m.organization_id AND c.id = m.campaign_id JOIN channels ch ON ch.organization_id = "
                    "m.organization_id AND ch.id = m.channel_id WHERE m.organization_id = $1 "
                    "AND m.date BETWEEN $2 AND $3 GROUP BY 1, 2, 3, 4, 5), "
                    "groups AS (SELECT DISTINCT channel_id, name, platform, currency FROM sums) "
                    "SELECT g.platform, g.currency, p.period::date AS period, round(coalesce(s.spend, 0), 2) AS spend, "
                    "round(s.revenue / nullif(s.spend, 0), 4)::float8 AS roas FROM groups g "
                    "CROSS JOIN generate_series(date_trunc('week', $2::timestamp), $3::timestamp, "
                    "interval '1 week') p (period) LEFT JOIN sums s ON s.channel_id = g.channel_id "
                    "AND s.currency = g.currency AND s.period = p.period::date "
                    "ORDER BY g.name, g.channel_id, g.currency, p.period",
                    brain_id,
                    start,
                    end,
                )
                creatives = await conn.fetch(
                    "SELECT campaign_id, id, name, status FROM (SELECT campaign_id, id, name, status, "
                    "row_number() OVER (PARTITION BY campaign_id ORDER BY name, id) AS position FROM creatives "
                    "WHERE organization_id = $1 AND campaign_id = ANY($2::uuid[])) ranked WHERE position <= $3 "
                    "ORDER BY campaign_id, position",
                    brain_id,
                    ids,
                    m,
                )
                creative_perf = {
                    r["key"]: r
                    for r in await conn.fetch(
                        f"SELECT m.creative_id AS key, {PERF} FROM daily_metrics m WHERE m.organization_id = $1 "
                        "AND m.creative_id = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 GROUP BY m.creative_id",
                        brain_id,
                        [k["id"] for k in creatives],
                        start,
                        end,
                    )
                }
            finally:
                await conn.execute("COMMIT")
        scope = {"organization_id": enterprise_id}
        users = await self.db.users.find(scope, {"email": 1}).sort([("email", 1)]).limit(20).to_list(None)
        emails = sorted({u["email"] for u in users} | set(brain_emails))[:20]
        workflows = (
            await self.db.agentkit_workflows.find(scope, {"name": 1})
            .sort([("name", 1), ("_id", 1)])
            .limit(10)
            .to_list(None)
        )
        executions = await (
            self.db.agentkit_executions.find(
                {**scope, "workflow_id": {"$in": [str(w["_id"]) for w in workflows]}}, {"workflow_id": 1, "status": 1}
            )
            .sort([("created_at", -1), ("_id", -1)])
            .to_list(None)
        )
        # PyMongo's async aggregate is a coroutine that gives the cursor.
        execution_cursor = await self.db.agentkit_executions.aggregate(
            [{"$match": scope}, {"$group": {"_id": "$status", "count": {"$sum": 1}}}]
        )
        execution_counts = await execution_cursor.to_list(None)
        runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in executions:
            if len(runs[str(e["workflow_id"])]) < 5:
                runs[str(e["workflow_id"])].append({"node": {"status": e["status"].upper()}})
        by_campaign: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        for k in creatives:
            perf = creative_perf.get(k["id"])
            by_campaign[k["campaign_id"]].append(
                {
                    "node": {
                        "name": k["name"],
                        "status": k["status"].upper(),
                        "performance": {
                            "ctr": perf["ctr"] if perf else None,
                            "roas": perf["roas"] if perf else None,
                        },
                    }
                }
            )
        edges = []
        for c in campaigns:
            perf = campaign_perf.get(c["id"])
            currency = c["currency"].strip()
            edges.append(
                {
                    "node": {
                        "name": c["name"],
                        "status": c["status"].upper(),
                        "dailyBudget": {"amount": money(c["daily_budget"]), "currency": c["currency"].strip()},
                        "channel": {"platform": c["platform"].upper()},
                        "performance": {
                            "spend": {"amount": str(perf["spend"]) if perf else "0.00", "currency": currency},
                            "revenue": {"amount": str(perf["revenue"]) if perf else "0.00"},
                            "roas": perf["roas"] if perf else None,
                        },
                        "creatives": {"edges": by_campaign[c["id"]]},
                    }
                }
            )
        return {
            "organization": {
                "name": name,
                "members": {"edges": [{"node": {"email": e}} for e in emails]},
                "workflows": {
                    "edges": [
                        {"node": {"name": w["name"], "executions": {"edges": runs[str(w["_id"])]}}} for w in workflows
                    ]
                },
                "weekly": [
                    {
                        "period": w["period"].isoformat(),
                        "channel": {"platform": w["platform"].upper()},
                        "performance": {
                            "spend": {"amount": str(w["spend"]), "currency": w["currency"].strip()},
                            "roas": w["roas"],
                        },
                    }
                    for w in weekly
                ],
                "creatives": {"countsByStatus": tally(DELIVERY, status_counts["creatives"])},
                "syncJobs": {"countsByStatus": tally(SYNC_JOB, status_counts["sync_jobs"])},
                "executions": {"countsByStatus": tally(EXECUTION, [(e["_id"], e["count"]) for e in execution_counts])},
                "campaigns": {
                    "totalCount": total,
                    "countsByStatus": tally(DELIVERY, status_counts["campaigns"]),
                    "edges": edges,
                },
            }
        }

    async def shift_budget(
        self, org: tuple[str, UUID, str], variables: dict[str, Any], claims: dict[str, Any]
    ) -> dict[str, Any]:
        assert self.pool is not None
        enterprise_id, brain_id, _ = org
        i = variables["i"]
        source, target, amount = raw_id(i["fromCampaignId"]), raw_id(i["toCampaignId"]), Decimal(i["amount"])
        async with self.pool.acquire() as conn:
            await conn.execute(begin(conn, brain_id, read_only=False, enterprise_id=enterprise_id))
            try:
                rows = {
                    r["id"]: r
                    for r in await conn.fetch(
                        "SELECT id, daily_budget, currency, status FROM campaigns WHERE organization_id = $1 "
                        "AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
                        brain_id,
                        sorted([source, target]),
                    )
                }
                after = {}
                for cid, delta in ((source, -amount), (target, amount)):
                    after[cid] = await conn.fetchval(
                        "UPDATE campaigns SET daily_budget = $3, updated_at = now() WHERE organization_id = $1 "
                        "AND id = $2 RETURNING daily_budget",
                        brain_id,
                        cid,
                        rows[cid]["daily_budget"] + delta,
                    )
                payload = {"from": str(source), "to": str(target), "amount": str(amount), "reason": None}
                result = {
                    "fromBudget": str(after[source]),
                    "toBudget": str(after[target]),
                    "currency": rows[source]["currency"].strip(),
                }
                await conn.execute(
                    "INSERT INTO action_logs (organization_id, actor_kind, actor_id, action, target_type, target_id, "
                    "payload, result, status) VALUES ($1, 'user', $2, 'shiftBudget', 'Campaign', $3, $4::jsonb, "
                    "$5::jsonb, 'succeeded')",
                    brain_id,
                    claims["sub"],
                    str(source),
                    json.dumps(payload),
                    json.dumps(result),
                )
                event_id = uuid.uuid4()
                document = {
                    "event_id": str(event_id),
                    "organization_id": enterprise_id,
                    "actor": {"kind": "user", "id": claims["sub"], "email": claims.get("email")},
                    "action": "shiftBudget",
                    "target": {"type": "Campaign", "id": str(source)},
                    "details": {"input": payload, "result": result},
                    "request_id": None,
                    "at": {"$datetime": dt.datetime.now(dt.UTC).isoformat()},  # the outbox's tagged JSON
                }
                await conn.execute(
                    "INSERT INTO outbox (event_id, organization_key, document) VALUES ($1, $2, $3::jsonb)",
                    event_id,
                    enterprise_id,
                    json.dumps(document),
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
        return {"shiftBudget": {"userErrors": []}}

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/healthz":
            await respond(send, 200, orjson.dumps({"status": "ok", "pid": os.getpid()}))
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            claims = self.claims(token)
        except Exception:
            await respond(send, 401, b'{"errors":[{"message":"unauthenticated"}]}')
            return
        request = orjson.loads(body)
        org = await self.org(claims["org"])
        variables = request.get("variables") or {}
        query = request["query"]
        if query in (CAMPAIGNS_50x20, CAMPAIGNS_TOTALS):
            data = await self.campaigns(org, variables, totals=query == CAMPAIGNS_TOTALS)
        elif query == DASHBOARD:
            data = await self.dashboard(org, variables)
        elif query == SHIFT:
            data = await self.shift_budget(org, variables, claims)
        else:
            await respond(send, 400, b'{"errors":[{"message":"unknown document"}]}')
            return
        await respond(send, 200, orjson.dumps({"data": data}))


async def totals_of(
    conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    org: UUID,
    column: str,
    ids: list[UUID],
    days: tuple[dt.date, dt.date],
) -> dict[UUID, Any]:
    """Each campaign's or creative's totals over the days (absent: no metrics)."""
    rows = await conn.fetch(
        f"SELECT m.{column} AS key, {PERF} FROM daily_metrics m WHERE m.organization_id = $1 "
        f"AND m.{column} = ANY($2::uuid[]) AND m.date BETWEEN $3 AND $4 GROUP BY m.{column}",
        org,
        ids,
        *days,
    )
    return {r["key"]: r for r in rows}


async def respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app() -> Raw:
    return Raw()


if __name__ == "__main__":
    print(__doc__, file=sys.stderr)
