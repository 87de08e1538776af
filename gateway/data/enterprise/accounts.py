"""Enterprise accounts as members are managed: their role changed, or removed."""

from __future__ import annotations

from typing import Any

from gateway.core.mongo_mutations import Audit, Writes, now
from gateway.stores.mongo import Document

COLLECTION = "users"


async def find(w: Writes, account_id: Any) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": account_id})


def _other_owner(doc: Document, account_id: Any) -> bool:
    return doc["_id"] != account_id and "owner" in (doc.get("roles") or []) and doc.get("status", "active") == "active"


async def other_owners(w: Writes, account_id: Any) -> int:
    """How many active accounts of the organization besides `account_id` hold the owner role."""
    return sum(_other_owner(doc, account_id) for doc in await w.find(COLLECTION))


async def hold_other_owners(w: Writes, account_id: Any) -> int:
    """Raise the revision of each other active owner, if it is still as read; how many were held.

    A change that takes the owner role from one account relies on another keeping it. Raising the
    others' revisions first makes a concurrent change of any of them, decided on an older reading,
    match nothing; and a concurrent change that already raised this account's revision makes ours
    match nothing. So of two owners demoting or removing each other at once, at most one succeeds,
    with or without transactions.
    """
    held = 0
    for doc in await w.find(COLLECTION):
        if _other_owner(doc, account_id):
            held += await w.tenant.update_one(COLLECTION, _as_read(doc), {"$inc": {"revision": 1}}, session=w.session)
    return held


def _as_read(account: Document) -> Document:
    """A filter for the account as it was read: each role change raises its `revision`, so a change decided
    on an older reading of this account (its role changed meanwhile) matches nothing."""
    revision = account.get("revision", {"$exists": False})
    return {"_id": account["_id"], "revision": revision}


async def set_roles(w: Writes, account: Document, roles: list[str], by: str, audit: Audit) -> Document | None:
    """Give the account `roles`, if it is still as read (None: it changed meanwhile)."""
    return await w.update(
        COLLECTION,
        _as_read(account),
        {"$set": {"roles": roles, "roles_changed_at": now(), "roles_changed_by": by}, "$inc": {"revision": 1}},
        audit,
    )


async def remove(w: Writes, account: Document, audit: Audit) -> Document | None:
    """Delete the account, if it is still as read (None: it changed or went meanwhile)."""
    return await w.delete(COLLECTION, _as_read(account), audit)
