"""The MongoDB access layer cannot issue an unscoped call, against a real server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from gateway.ops.seed import oid
from gateway.stores.mongo import MongoStore, TenantMongo
from gateway.stores.mongo_scope import UnscopedQuery
from tests.conftest import Stores

ACME, GLOBEX = str(oid("org", "acme")), str(oid("org", "globex"))


@pytest.fixture
async def acme(seeded: Stores) -> AsyncIterator[TenantMongo]:
    store = MongoStore(seeded.mongo_url, seeded.mongo_db)
    await store.open()
    yield store.tenant(ACME)
    await store.close()


async def test_reads_are_scoped(acme: TenantMongo) -> None:
    workflows = await acme.find("agentkit_workflows")
    assert workflows and {w["organization_id"] for w in workflows} == {ACME}
    assert await acme.count("agentkit_workflows") == len(workflows)
    org = await acme.find_one("organizations")
    assert org is not None and org["slug"] == "acme"
    groups = await acme.aggregate("agentkit_executions", [{"$group": {"_id": "$organization_id", "n": {"$sum": 1}}}])
    assert [g["_id"] for g in groups] == [ACME]


async def test_naming_another_organization_is_refused(acme: TenantMongo) -> None:
    with pytest.raises(UnscopedQuery):
        await acme.find("agentkit_workflows", {"organization_id": GLOBEX})
    with pytest.raises(UnscopedQuery):
        await acme.insert_one("agentkit_agents", {"organization_id": GLOBEX, "name": "intruder"})
    with pytest.raises(UnscopedQuery):
        await acme.update_one("agentkit_agents", {}, {"$set": {"organization_id": GLOBEX}})
    with pytest.raises(UnscopedQuery):
        await acme.find("system.users")  # not an organization-scoped collection


async def test_a_filter_on_another_tenants_id_finds_nothing(acme: TenantMongo) -> None:
    globex_workflow = oid("workflow", "globex", 0)
    assert await acme.find("agentkit_workflows", {"_id": globex_workflow}) == []
    assert await acme.update_one("agentkit_workflows", {"_id": globex_workflow}, {"$set": {"name": "x"}}) == 0


async def test_the_server_profile_names_the_stand_in_only_when_it_is_one(acme: TenantMongo, seeded: Stores) -> None:
    profile = await acme.store.profile()
    if seeded.embedded_mongo is not None:
        assert profile.stand_in and not profile.window_functions
    assert profile.version >= (4,)
    assert await acme.store.profile() is profile  # asked once


async def test_pages_per_group_match_one_query_per_group(acme: TenantMongo) -> None:
    # Whichever way the server pages (window functions or the adapter), the pages are
    # those a query per workflow with skip/limit returns.
    newest_first = [("created_at", -1), ("_id", -1)]
    workflow_ids = sorted({str(e["workflow_id"]) for e in await acme.find("agentkit_executions")})[:4]
    assert len(workflow_ids) >= 2
    query = {"workflow_id": {"$in": workflow_ids}}
    for skip, limit in ((0, 3), (2, 2), (50, 5)):
        pages = await acme.find_per_group(
            "agentkit_executions", query, group="workflow_id", sort=newest_first, skip=skip, limit=limit
        )
        for workflow_id in workflow_ids:
            one = await acme.find(
                "agentkit_executions", {"workflow_id": workflow_id}, sort=newest_first, skip=skip, limit=limit
            )
            assert [d["_id"] for d in pages.get(workflow_id, [])] == [d["_id"] for d in one]


async def test_a_datetime_set_on_an_existing_document_stays_a_datetime(acme: TenantMongo) -> None:
    moment = dt.datetime(2031, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
    agent = await acme.find_one("agentkit_agents", sort=[("_id", 1)])
    assert agent is not None
    assert await acme.update_one("agentkit_agents", {"_id": agent["_id"]}, {"$set": {"reviewed_at": moment}}) == 1
    updated = await acme.find_one_and_update(
        "agentkit_agents", {"_id": agent["_id"]}, {"$set": {"reviewed_at": moment + dt.timedelta(days=1)}}
    )
    assert updated is not None
    stored = await acme.find_one("agentkit_agents", {"_id": agent["_id"]})
    assert stored is not None and stored["reviewed_at"] == moment + dt.timedelta(days=1)
    assert isinstance(stored["reviewed_at"], dt.datetime)
    assert "_never_present" not in stored
    await acme.update_one("agentkit_agents", {"_id": agent["_id"]}, {"$unset": {"reviewed_at": ""}})
