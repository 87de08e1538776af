"""The MongoDB access layer cannot issue an unscoped call (SPEC §6), against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.seed import oid
from gateway.stores.mongo import MongoStore, TenantMongo, UnscopedQuery
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
