"""Seats of the `seats` quota, taken by invitations as they are sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.core.mongo_mutations import MARKER, Audit, Pending, Writes, now
from gateway.core.rules import Rejected, reject
from gateway.core.rules.seats import Seats, no_quota, take_seat
from gateway.data.enterprise import invitations
from gateway.data.enterprise.usage import LATEST_PERIOD, QUOTA_ATTEMPTS, current_quota_query
from gateway.errors import Conflict
from gateway.stores.mongo import Document


def _pending(email: str) -> Rejected:
    return reject("INVITATION_PENDING", f"{email} already has a pending invitation", "email")


async def invite(w: Writes, invitation: Document, audit: Audit) -> None:
    """Create the invitation together with a seat of the `seats` quota, never beyond its limit.

    Seats taken are counted afresh each time: enterprise accounts plus open (pending, unexpired)
    invitations, so revoked and expired invitations free their seat without a write. The count
    is made safe against concurrent invitations by a conditional update of the quota document
    on its `revision`: of two invitations counting the same state, one update wins and the other
    counts again. The winner's invitation reaches `team_invitations` with its audit event; until
    then (where there are no transactions) it travels in the quota's marker and is counted from
    there, so a seat is never handed out twice.
    """
    email = invitation["email"]
    for _ in range(QUOTA_ATTEMPTS):
        moment = now()
        if await invitations.live_for(w, email, moment):
            raise _pending(email)
        holder = await invitations.address_holder(w, invitation["pending_key"])
        if holder is not None and holder["expires_at"] > moment:
            raise _pending(email)
        if holder is not None:
            # Ran out of time but still guards the address: retire it so the new one can take its place.
            await invitations.retire(w, holder)
        quota = await w.tenant.find_one(
            "usage_quotas", current_quota_query("seats", moment), sort=LATEST_PERIOD, session=w.session
        )
        if quota is None:
            raise no_quota()
        used = take_seat(await _seats(w, quota, email, moment), quota["limit"])
        revision = {"revision": quota["revision"]} if "revision" in quota else {"revision": {"$exists": False}}
        updated = await w.update(
            "usage_quotas",
            {"_id": quota["_id"], "limit": quota["limit"], **revision},
            {"$set": {"used": used}, "$inc": {"revision": 1}},
            audit,
            also_insert=(invitations.COLLECTION, invitation),
        )
        if updated is not None:
            return
    raise Conflict("the seats kept changing while inviting; try again")


async def release(w: Writes, removed_id: Any) -> None:
    """Refresh the current `seats` quota's `used` after an account is removed: the seat is free at once.

    Counted without the removed account, which may still exist until its removal's audit event is delivered.
    """
    moment = now()
    quota = await w.find_one("usage_quotas", current_quota_query("seats", moment), sort=LATEST_PERIOD)
    if quota is None:
        return
    members = len([doc for doc in await w.find("users") if doc["_id"] != removed_id])
    taken = Seats(members=members, open_invitations=await invitations.count_open(w, moment))
    await w.tidy("usage_quotas", {"_id": quota["_id"]}, {"$set": {"used": taken.taken}})


async def _seats(w: Writes, quota: Document, email: str, moment: dt.datetime) -> Seats:
    in_flight = 0
    for marker in (quota.get(MARKER) or {}).values():
        for collection, document in Pending.from_marker(marker).inserts:
            if collection == invitations.COLLECTION:
                if document["email"] == email:
                    raise _pending(email)
                in_flight += 1
    return Seats(
        members=await w.tenant.count("users"),
        open_invitations=await invitations.count_open(w, moment),
        joining=await invitations.count_joining(w),
        in_flight=in_flight,
    )
