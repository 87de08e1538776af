"""Brain actions: validation, atomicity, idempotency, concurrency, action logs and audit delivery."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from pymongo import AsyncMongoClient

from gateway.ops.seed import uid
from tests.conftest import Stores, gql
from tests.support.issuer import TestIssuer

SHIFT = """mutation($input: ShiftBudgetInput!) { shiftBudget(input: $input) {
  from { id dailyBudget { amount currency } } to { id dailyBudget { amount currency } }
  actionLog { id action status payload result } userErrors { code message field } } }"""
BUDGET = """mutation($input: UpdateCampaignBudgetInput!) { updateCampaignBudget(input: $input) {
  campaign { id dailyBudget { amount } } actionLog { action } userErrors { code field } } }"""
PAUSE = """mutation($input: CreativeStatusInput!) { pauseCreative(input: $input) {
  creative { id status } actionLog { action } userErrors { code field } } }"""
RESUME = PAUSE.replace("pauseCreative", "resumeCreative")

ORG = "initech"  # mutation tests change data: keep them to one organization


async def campaigns(
    client: httpx.AsyncClient, issuer: TestIssuer, currency: str = "USD", status: str = "ACTIVE"
) -> list[dict[str, Any]]:
    body = await gql(
        client,
        "{ organization { campaigns(first: 100) { edges { node { id status dailyBudget { amount currency } } } } } }",
        token=issuer.token(ORG, "admin"),
    )
    return [
        e["node"]
        for e in body["data"]["organization"]["campaigns"]["edges"]
        if e["node"]["dailyBudget"]["currency"] == currency and e["node"]["status"] == status
    ]


async def budgets(stores: Stores) -> dict[str, Decimal]:
    conn = await asyncpg.connect(stores.database_url)
    try:
        rows = await conn.fetch("SELECT id, daily_budget FROM campaigns WHERE organization_id = $1", uid("org", ORG))
        return {str(r["id"]): r["daily_budget"] for r in rows}
    finally:
        await conn.close()


async def action_log_count(stores: Stores) -> int:
    conn = await asyncpg.connect(stores.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM action_logs WHERE organization_id = $1", uid("org", ORG)))
    finally:
        await conn.close()


async def shift(client: httpx.AsyncClient, token: str, **input: Any) -> dict[str, Any]:
    body = await gql(client, SHIFT, {"input": input}, token=token)
    return body


async def test_shift_budget_moves_money_and_logs_once(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    before = await budgets(seeded)
    token = issuer.token(ORG, "marketer")
    body = await shift(client, token, fromCampaignId=a["id"], toCampaignId=b["id"], amount="10.50", reason="test")
    result = body["data"]["shiftBudget"]
    assert result["userErrors"] == [], body
    assert Decimal(result["from"]["dailyBudget"]["amount"]) == Decimal(a["dailyBudget"]["amount"]) - Decimal("10.50")
    assert Decimal(result["to"]["dailyBudget"]["amount"]) == Decimal(b["dailyBudget"]["amount"]) + Decimal("10.50")
    assert result["actionLog"]["action"] == "SHIFT_BUDGET" and result["actionLog"]["payload"]["amount"] == "10.50"
    after = await budgets(seeded)
    assert sum(after.values()) == sum(before.values())


REJECTIONS = [
    ({"amount": "0"}, "INVALID_AMOUNT"),
    ({"amount": "-5"}, "INVALID_AMOUNT"),
    ({"amount": "99999999"}, "INSUFFICIENT_BUDGET"),
    ({"same": True}, "SAME_CAMPAIGN"),
    ({"from": "bogus"}, "INVALID_ID"),
    ({"from": "creative"}, "INVALID_ID"),
    ({"from": "foreign"}, "NOT_FOUND"),
    ({"to": "other-currency"}, "CURRENCY_MISMATCH"),
    ({"to": "archived"}, "CAMPAIGN_ARCHIVED"),
]


@pytest.mark.parametrize(("change", "code"), REJECTIONS, ids=[c for _, c in REJECTIONS])
async def test_shift_budget_rejections_change_nothing(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, change: dict[str, Any], code: str
) -> None:
    usd = await campaigns(client, issuer)
    source, target = usd[0]["id"], usd[1]["id"]
    if change.get("same"):
        target = source
    if change.get("from") == "bogus":
        source = "bogus"
    if change.get("from") == "creative":
        source = (
            await gql(
                client,
                "{ organization { creatives(first: 1) { edges { node { id } } } } }",
                token=issuer.token(ORG, "admin"),
            )
        )["data"]["organization"]["creatives"]["edges"][0]["node"]["id"]
    if change.get("from") == "foreign":
        source = (
            await gql(
                client,
                "{ organization { campaigns(first: 1) { edges { node { id } } } } }",
                token=issuer.token("acme", "admin"),
            )
        )["data"]["organization"]["campaigns"]["edges"][0]["node"]["id"]
    if change.get("to") == "other-currency":
        target = (
            await campaigns(client, issuer, currency="GBP", status="ACTIVE")
            or await campaigns(client, issuer, currency="GBP", status="PAUSED")
        )[0]["id"]
    if change.get("to") == "archived":
        target = (await campaigns(client, issuer, status="ARCHIVED"))[0]["id"]
    before, logs = await budgets(seeded), await action_log_count(seeded)
    body = await shift(
        client,
        issuer.token(ORG, "marketer"),
        fromCampaignId=source,
        toCampaignId=target,
        amount=change.get("amount", "1.00"),
    )
    result = body["data"]["shiftBudget"]
    assert [e["code"] for e in result["userErrors"]] == [code], body
    assert result["from"] is None and result["actionLog"] is None
    assert await budgets(seeded) == before and await action_log_count(seeded) == logs


# Amounts the Decimal scalar refuses: the request fails as a whole, before any resolver runs.
MALFORMED_AMOUNTS: list[Any] = ["1.005", "abc", "NaN", "Infinity", "1e400", "1E2", "1234567890123", " 1.00", 12.5, True]


@pytest.mark.parametrize("amount", MALFORMED_AMOUNTS, ids=[repr(a) for a in MALFORMED_AMOUNTS])
async def test_malformed_amounts_are_bad_user_input(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, amount: Any
) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    before, logs = await budgets(seeded), await action_log_count(seeded)
    body = await shift(
        client, issuer.token(ORG, "marketer"), fromCampaignId=a["id"], toCampaignId=b["id"], amount=amount
    )
    assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    assert "amount" in body["errors"][0]["message"]
    assert await budgets(seeded) == before and await action_log_count(seeded) == logs


@pytest.mark.parametrize("literal", ["1e400", "0.125", "NaN", '"1e3"', '"-"', "[1]"])
async def test_malformed_amount_literals_are_bad_user_input(
    client: httpx.AsyncClient, issuer: TestIssuer, literal: str
) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    document = (
        f'mutation {{ shiftBudget(input: {{fromCampaignId: "{a["id"]}", toCampaignId: "{b["id"]}", '
        f"amount: {literal}}}) {{ userErrors {{ code }} }} }}"
    )
    body = await gql(client, document, token=issuer.token(ORG, "marketer"))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


async def test_amount_literals_as_written(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    """An integer or a two-decimal literal is an amount; the sign is the action's to judge."""
    a, b = (await campaigns(client, issuer))[:2]
    token = issuer.token(ORG, "marketer")
    for literal, code in (("-1", "INVALID_AMOUNT"), ("0", "INVALID_AMOUNT"), ('"-0.01"', "INVALID_AMOUNT")):
        document = (
            f'mutation {{ shiftBudget(input: {{fromCampaignId: "{a["id"]}", toCampaignId: "{b["id"]}", '
            f"amount: {literal}}}) {{ userErrors {{ code field }} }} }}"
        )
        body = await gql(client, document, token=token)
        assert body["data"]["shiftBudget"]["userErrors"] == [{"code": code, "field": "amount"}], body


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_readers_cannot_mutate(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores, role: str) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    before = await budgets(seeded)
    body = await shift(client, issuer.token(ORG, role), fromCampaignId=a["id"], toCampaignId=b["id"], amount="1.00")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await budgets(seeded) == before


async def test_partner_needs_actions_scope(client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    metrics_only = issuer.token(ORG, "owner", sub="partner-1", azp="partner-1", scope="metrics:write")
    body = await shift(client, metrics_only, fromCampaignId=a["id"], toCampaignId=b["id"], amount="1.00")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    actions = issuer.token(ORG, "owner", sub="partner-1", azp="partner-1", scope="actions:write")
    body = await shift(client, actions, fromCampaignId=a["id"], toCampaignId=b["id"], amount="1.00")
    assert body["data"]["shiftBudget"]["userErrors"] == []


async def test_concurrent_shifts_keep_the_sum_and_never_deadlock(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    five = [c["id"] for c in (await campaigns(client, issuer))[:5]]
    before = await budgets(seeded)
    logs_before = await action_log_count(seeded)
    token = issuer.token(ORG, "marketer")
    rng = random.Random(7)

    async def one() -> dict[str, Any]:
        source, target = rng.sample(five, 2)
        amount = f"{rng.randint(1, 40000) / 100:.2f}"
        return await shift(client, token, fromCampaignId=source, toCampaignId=target, amount=amount)

    results = await asyncio.gather(*(one() for _ in range(200)))
    assert all("errors" not in r for r in results), [r["errors"] for r in results if "errors" in r][:3]
    succeeded = [r for r in results if not r["data"]["shiftBudget"]["userErrors"]]
    refused = [r for r in results if r["data"]["shiftBudget"]["userErrors"]]
    assert all(r["data"]["shiftBudget"]["userErrors"][0]["code"] == "INSUFFICIENT_BUDGET" for r in refused)
    after = await budgets(seeded)
    assert sum(after.values()) == sum(before.values())
    assert all(v >= 0 for v in after.values())
    assert await action_log_count(seeded) - logs_before == len(succeeded)
    assert len({r["data"]["shiftBudget"]["actionLog"]["id"] for r in succeeded}) == len(succeeded)


async def test_idempotent_retry_returns_the_first_result(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    a, b = (await campaigns(client, issuer))[2:4]
    token = issuer.token(ORG, "marketer")
    args = {"fromCampaignId": a["id"], "toCampaignId": b["id"], "amount": "3.00", "idempotencyKey": "retry-1"}
    first = await shift(client, token, **args)
    mid_budgets, mid_logs = await budgets(seeded), await action_log_count(seeded)
    again = await shift(client, token, **args)
    assert again == first
    assert await budgets(seeded) == mid_budgets and await action_log_count(seeded) == mid_logs
    conflict = await shift(client, token, **{**args, "amount": "4.00"})
    assert conflict["errors"][0]["extensions"]["code"] == "CONFLICT" and conflict["data"] is None
    assert await budgets(seeded) == mid_budgets


async def test_idempotent_concurrent_retries_apply_once(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    a, b = (await campaigns(client, issuer))[4:6]
    token = issuer.token(ORG, "marketer")
    before, logs = await budgets(seeded), await action_log_count(seeded)
    args = {"fromCampaignId": a["id"], "toCampaignId": b["id"], "amount": "2.00", "idempotencyKey": "concurrent-1"}
    results = await asyncio.gather(*(shift(client, token, **args) for _ in range(20)))
    assert all(r == results[0] for r in results) and results[0]["data"]["shiftBudget"]["userErrors"] == []
    after = await budgets(seeded)
    assert after[_raw(a["id"])] == before[_raw(a["id"])] - Decimal("2.00")
    assert await action_log_count(seeded) == logs + 1


async def test_idempotency_key_covers_rejections_too(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    a, b = (await campaigns(client, issuer))[:2]
    token = issuer.token(ORG, "marketer")
    args = {"fromCampaignId": a["id"], "toCampaignId": b["id"], "amount": "99999999.00", "idempotencyKey": "rejected-1"}
    first = await shift(client, token, **args)
    assert first["data"]["shiftBudget"]["userErrors"][0]["code"] == "INSUFFICIENT_BUDGET"
    assert await shift(client, token, **args) == first


async def test_creative_pause_resume_and_budget_update(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    token = issuer.token(ORG, "marketer")
    creative = (
        await gql(
            client,
            "{ organization { creatives(first: 1, filter: {status: [ACTIVE]}) { edges { node { id } } } } }",
            token=token,
        )
    )["data"]["organization"]["creatives"]["edges"][0]["node"]["id"]
    body = await gql(client, PAUSE, {"input": {"creativeId": creative, "reason": "fatigue"}}, token=token)
    assert body["data"]["pauseCreative"]["creative"]["status"] == "PAUSED"
    again = await gql(client, PAUSE, {"input": {"creativeId": creative, "reason": "fatigue"}}, token=token)
    assert again["data"]["pauseCreative"]["userErrors"][0]["code"] == "ALREADY_PAUSED"
    no_reason = await gql(client, RESUME, {"input": {"creativeId": creative, "reason": "  "}}, token=token)
    assert no_reason["data"]["resumeCreative"]["userErrors"] == [{"code": "REASON_REQUIRED", "field": "reason"}]
    resumed = await gql(client, RESUME, {"input": {"creativeId": creative, "reason": "new copy"}}, token=token)
    assert resumed["data"]["resumeCreative"]["creative"]["status"] == "ACTIVE"
    campaign = (await campaigns(client, issuer))[6]["id"]
    body = await gql(client, BUDGET, {"input": {"campaignId": campaign, "dailyBudget": "123.45"}}, token=token)
    assert body["data"]["updateCampaignBudget"]["campaign"]["dailyBudget"]["amount"] == "123.45"
    bad = await gql(client, BUDGET, {"input": {"campaignId": campaign, "dailyBudget": "-1"}}, token=token)
    assert bad["data"]["updateCampaignBudget"]["userErrors"][0]["code"] == "INVALID_AMOUNT"


async def test_every_action_reaches_the_audit_log_once(
    client: httpx.AsyncClient, issuer: TestIssuer, seeded: Stores
) -> None:
    conn = await asyncpg.connect(seeded.database_url)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(seeded.mongo_url)
    try:
        for _ in range(100):
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
            if pending == 0:
                break
            await asyncio.sleep(0.2)
        assert pending == 0
        event_ids = [str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM outbox")]
        assert event_ids
        found = await mongo[seeded.mongo_db].audit_logs.count_documents({"event_id": {"$in": event_ids}})
        assert found == len(event_ids)
    finally:
        await conn.close()
        await mongo.close()


def _raw(global_id: str) -> str:
    from gateway.data.ids import from_global_id

    return from_global_id(global_id)[1]


async def test_later_mutations_in_one_request_see_earlier_writes(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    token = issuer.token(ORG, "marketer")
    creative = (
        await gql(
            client,
            "{ organization { creatives(first: 1, filter: {status: [ACTIVE]}) { edges { node { id } } } } }",
            token=token,
        )
    )["data"]["organization"]["creatives"]["edges"][0]["node"]["id"]
    nested = "creative { status campaign { creatives(first: 100) { edges { node { id status } } } } }"
    body = await gql(
        client,
        f"""mutation($c: ID!) {{
        a: pauseCreative(input: {{creativeId: $c, reason: "test"}}) {{ {nested} }}
        b: resumeCreative(input: {{creativeId: $c, reason: "test"}}) {{ {nested} }} }}""",
        {"c": creative},
        token=token,
    )
    for alias, status in (("a", "PAUSED"), ("b", "ACTIVE")):
        payload = body["data"][alias]["creative"]
        listed = {e["node"]["id"]: e["node"]["status"] for e in payload["campaign"]["creatives"]["edges"]}
        assert payload["status"] == status and listed[creative] == status, alias


async def test_idempotency_records_are_fenced_by_organization(seeded: Stores) -> None:
    from gateway.ops.seed import oid
    from tests.support import fence

    key = await fence.fence_key(seeded.database_url)
    conn = await asyncpg.connect(seeded.database_url)
    try:
        total = await conn.fetchval("SELECT count(*) FROM idempotency_keys")
        assert total > 0  # earlier tests stored keys for initech
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE omnify_app")
            await fence.enter(conn, key, uid("org", "acme"), str(oid("org", "acme")))
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM idempotency_keys WHERE organization_key <> $1", str(oid("org", "acme"))
                )
                == 0
            )
            await fence.enter(conn, key, uid("org", ORG), str(oid("org", ORG)))
            assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") > 0
    finally:
        await conn.close()
