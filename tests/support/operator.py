"""What the operator-action tests share: the organization they change, requests, and reading MongoDB."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from gateway.data.ids import from_global_id, to_global_id
from gateway.ops.seed import oid
from tests.conftest import gql

ORG = "globex"  # enterprise mutation tests change data: keep them to one organization
ORG_ID = str(oid("org", ORG))
Db = AsyncDatabase[dict[str, Any]]
ERRORS = "userErrors { code field message }"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def raw(global_id: str) -> ObjectId:
    return ObjectId(from_global_id(global_id)[1])


def member_gid(account_id: object) -> str:
    return to_global_id("Member", f"u:{account_id}")


def seeded_member(role: str, org: str = ORG) -> str:
    """The seeded member with this role (owner, admin, marketer, analyst, viewer)."""
    return member_gid(oid("user", org, role))


async def mutate(client: httpx.AsyncClient, document: str, bearer: str, /, **input: Any) -> dict[str, Any]:
    return await gql(client, document, {"input": input}, token=bearer)


def result(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    (value,) = body["data"].values()
    assert isinstance(value, dict)
    return value


def codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result(body)["userErrors"]]


def error_code(body: dict[str, Any]) -> str:
    assert body["data"] is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def events(db: Db, target_id: object, action: str) -> list[dict[str, Any]]:
    query = {"organization_id": ORG_ID, "target.id": str(target_id), "action": action}
    return await db.audit_logs.find(query).to_list(None)


async def snapshot(db: Db, *collections: str) -> dict[str, Any]:
    """The organization's documents of `collections` and its audit trail's length: a rejection changes none."""
    found: dict[str, Any] = {
        c: await db[c].find({"organization_id": ORG_ID}).sort("_id", 1).to_list(None) for c in collections
    }
    found["audit"] = await db.audit_logs.count_documents({"organization_id": ORG_ID})
    return found
