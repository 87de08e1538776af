"""Team invitations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import MARKER_COUNT, Audit, Writes, now
from gateway.core.rules.invitations import INVITATION_TTL
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, contains, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, MongoStore, TenantMongo

COLLECTION = "team_invitations"
NEWEST_FIRST = (Sort("created_at", descending=True),)
# Each `orderBy` field and the type of its values.
KINDS = {"created_at": TIME, "expires_at": TIME, "email": TEXT, "role": TEXT}


def status_of(doc: Document) -> str:
    """A pending invitation past its expiry reads as expired; nothing has to rewrite it when time runs out."""
    if doc["status"] == "pending" and doc["expires_at"] <= dt.datetime.now(dt.UTC):
        return "expired"
    return str(doc["status"])


def status_query(statuses: Sequence[str], moment: dt.datetime) -> Document:
    """A filter for invitations whose status, as `status_of` reads it at `moment`, is one of `statuses`."""
    if not statuses:
        return {}
    alternatives: list[Document] = []
    stored = [s for s in statuses if s not in ("pending", "expired")]
    if stored:
        alternatives.append(any_of("status", stored))
    if "pending" in statuses:
        alternatives.append({"status": "pending", "expires_at": {"$gt": moment}})
    if "expired" in statuses:
        alternatives.append({"status": "expired"})
        alternatives.append({"status": "pending", "expires_at": {"$lte": moment}})
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


@dataclass(frozen=True)
class Filter:
    """Which invitations a list holds; every part given must hold."""

    statuses: tuple[str, ...] = ()  # as `status_of` reads them
    roles: tuple[str, ...] = ()
    email_contains: str | None = None
    created: TimeRange | None = None
    expires: TimeRange | None = None


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Invitations matching `f`, newest first unless `order` says otherwise."""
    query = all_of(
        status_query(f.statuses, dt.datetime.now(dt.UTC)),
        any_of("role", f.roles),
        contains("email", f.email_contains),
        within("created_at", f.created),
        within("expires_at", f.expires),
    )
    return await collection_page(
        mongo, "Organization.invitations", page, COLLECTION, query, ordering(order, NEWEST_FIRST, KINDS)
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, COLLECTION)


# --- writes (inside an enterprise mutation) -------------------------------------------------


def public(doc: Document) -> Document:
    """The invitation as answered: the token hash and the pending-address guard never leave the store."""
    return {k: v for k, v in doc.items() if k not in ("token_hash", "pending_key")}


def new_invitation(
    organization_id: str, email: str, role: str, token_hash: str, invited_by: str | None, moment: dt.datetime
) -> Document:
    return {
        "_id": ObjectId(),
        "email": email,
        "role": role,
        "token_hash": token_hash,
        "invited_by": invited_by,
        "status": "pending",
        # Unique while set: one pending invitation per address, whatever races.
        "pending_key": f"{organization_id}:{email}",
        "expires_at": moment + INVITATION_TTL,
        "created_at": moment,
    }


async def find(w: Writes, invitation_id: Any) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": invitation_id})


async def locate(
    store: MongoStore, *, token_hash: str | None = None, invitation_id: ObjectId | None = None
) -> Document | None:
    """An invitation in whichever organization it is, by its token's hash or by id (exactly one given)."""
    if token_hash is not None:
        return await store.find_invitation(token_hash=token_hash)
    return await store.find_invitation(_id=invitation_id)


async def live_for(w: Writes, email: str, moment: dt.datetime) -> bool:
    """Whether `email` has a pending invitation that has not run out of time at `moment`."""
    return (
        await w.find_one(COLLECTION, {"email": email, "status": "pending", "expires_at": {"$gt": moment}}) is not None
    )


async def address_holder(w: Writes, pending_key: str) -> Document | None:
    """The invitation guarding an address (it may have run out of time without being retired)."""
    return await w.find_one(COLLECTION, {"pending_key": pending_key})


async def retire(w: Writes, holder: Document) -> None:
    """Mark a pending invitation that ran out of time as expired, freeing its address for a new one."""
    await w.tidy(
        COLLECTION,
        {"_id": holder["_id"], "status": "pending"},
        {"$set": {"status": "expired"}, "$unset": {"pending_key": ""}},
    )


async def count_open(w: Writes, moment: dt.datetime) -> int:
    return await w.tenant.count(COLLECTION, {"status": "pending", "expires_at": {"$gt": moment}})


async def count_joining(w: Writes) -> int:
    """Accepted invitations whose new account may still travel on the invitation's marker."""
    return await w.tenant.count(COLLECTION, {"status": "accepted", MARKER_COUNT: {"$gt": 0}})


async def revoke(w: Writes, invitation_id: Any, by: str, audit: Audit) -> Document | None:
    """Revoke the invitation if it is still pending (None: it was answered meanwhile)."""
    return await w.update(
        COLLECTION,
        {"_id": invitation_id, "status": "pending"},
        {"$set": {"status": "revoked", "revoked_at": now(), "revoked_by": by}, "$unset": {"pending_key": ""}},
        audit,
    )


async def accept(
    w: Writes, invitation: Document, account: Document, accepted_by: Document, moment: dt.datetime, audit: Audit
) -> Document | None:
    """Mark the invitation accepted and create its account with it, if it is still pending and unexpired at
    `moment` (None: it was answered or ran out meanwhile)."""
    return await w.update(
        COLLECTION,
        {"_id": invitation["_id"], "status": "pending", "expires_at": {"$gt": moment}},
        {
            "$set": {
                "status": "accepted",
                "accepted_at": moment,
                "accepted_by": accepted_by,
                "user_id": str(account["_id"]),
            },
            "$unset": {"pending_key": ""},
        },
        audit,
        also_insert=("users", account),
    )


async def resend(w: Writes, invitation_id: Any, token_hash: str, moment: dt.datetime, audit: Audit) -> Document | None:
    """Give a pending, unexpired invitation a new token and a fresh expiry (None: it was answered or ran out
    meanwhile). The old token's hash is overwritten, so the old token finds nothing any more."""
    return await w.update(
        COLLECTION,
        {"_id": invitation_id, "status": "pending", "expires_at": {"$gt": moment}},
        {
            "$set": {"token_hash": token_hash, "expires_at": moment + INVITATION_TTL, "resent_at": moment},
            "$inc": {"resent_count": 1},
        },
        audit,
    )
