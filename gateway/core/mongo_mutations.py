"""How a mutation of the enterprise store (MongoDB) changes data: once, audited, retry-safe.

A mutation makes exactly one audited change: one document inserted or updated,
possibly together with documents that exist exactly when that update happened:
the execution a workflow-run quota unit pays for, the invitation a seat of the
`seats` quota is taken for, the account an accepted invitation creates (its id
is the invitation's, so delivering it twice inserts it once). Its `audit_logs` event must never be lost, and an
idempotency key must make a retry return the first response without a
second change.

Consistency: transactions where the server has them
----------------------------------------------------
A replica-set member or a mongos (`hello` says `setName` / `isdbgrid`) runs
multi-document transactions: the change, its audit event and the completed
idempotency key commit together, and the driver retries transient conflicts.

Consistency: the change carries its audit event everywhere else
-----------------------------------------------------------------
A standalone server (and the nx-27017 stand-in) is atomic per document only.
There the write that makes the change also stores the audit event on the
changed document, under `pending_audit.<event_id>` with `pending_audit_count`
raised, in the same single-document operation. Then the event (and, for a
run, the execution) is inserted and the marker removed. A crash in between
leaves a marker, never a change without its event: `deliver_pending` finishes
the job later, and finishing twice is harmless because `audit_logs.event_id`
is unique and the marker is removed only if present. The other order -- the
event first, marked pending -- would need guessing afterwards whether the
change happened (a refused conditional update, a crash), and readers of the
audit trail would meet events of changes that never were.

Idempotency keys, and the running of a mutation: `gateway/core/mongo_idempotency.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bson import json_util
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from gateway.core.audit import audit_event
from gateway.stores.mongo import Document, MongoStore, TenantMongo

MARKER = "pending_audit"
MARKER_COUNT = "pending_audit_count"
# Every collection whose documents an enterprise mutation changes, hence may carry a marker.
MARKED_COLLECTIONS = (
    "team_invitations",
    "agentkit_workflows",
    "usage_quotas",
    "scheduled_workflows",
    "users",
    "agentkit_agents",
    "agentkit_executions",
)
LEASE_S = 60.0  # above OMNIFY_REQUEST_TIMEOUT_S: a claim this old has no live owner

_JSON = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True, tzinfo=dt.UTC)

Response = dict[str, Any]
Perform = Callable[["Writes"], Awaitable[Response]]
Recover = Callable[[Document], Awaitable[Response]]


def now() -> dt.datetime:
    """The current time at MongoDB's precision, so a response equals its stored replay."""
    moment = dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def dumps(value: Any) -> str:
    """Canonical extended JSON: ObjectIds, datetimes and number types survive the round trip."""
    return json_util.dumps(value, json_options=_JSON)


def loads(text: str) -> Any:
    return json_util.loads(text, json_options=_JSON)


def without_marker(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if k not in (MARKER, MARKER_COUNT)}


@dataclass(frozen=True)
class Audit:
    """The audit event of a change: what was done to which object."""

    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """One execution of a mutation: who acts, and the id its audit event will carry."""

    actor: dict[str, Any]
    request_id: str | None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Pending:
    """An audited change in flight: its event, the documents that complete it and the one it removes."""

    event: Document
    inserts: list[tuple[str, Document]]
    deletes: list[tuple[str, Any]] = field(default_factory=list)  # (collection, _id)

    def marker(self) -> Document:
        """What the changed document carries until delivery: when, and the whole event as extended JSON."""
        change = {"event": self.event, "inserts": self.inserts, "deletes": self.deletes}
        return {"at": self.event["at"], "event": dumps(change)}

    @classmethod
    def from_marker(cls, marker: Document) -> Pending:
        data = loads(marker["event"])
        return cls(
            event=data["event"],
            inserts=[(c, d) for c, d in data["inserts"]],
            deletes=[(c, i) for c, i in data.get("deletes", [])],
        )


# --- delivery of audit events -------------------------------------------------------------


async def _insert_once(tenant: TenantMongo, collection: str, document: Document) -> None:
    with contextlib.suppress(DuplicateKeyError):  # delivered before: the unique key says so
        await tenant.insert_one(collection, document)


async def deliver(tenant: TenantMongo, collection: str, doc_id: Any, pending: Pending) -> None:
    for target, document in pending.inserts:
        await _insert_once(tenant, target, document)
    await _insert_once(tenant, "audit_logs", pending.event)
    # After the event: a deletion is finished (again, harmlessly) by whoever delivers its marker.
    for target, deleted_id in pending.deletes:
        await tenant.delete_one(target, {"_id": deleted_id})
    path = f"{MARKER}.{pending.event['event_id']}"
    # Conditional, so a second delivery does not lower the count twice.
    await tenant.update_one(
        collection, {"_id": doc_id, path: {"$exists": True}}, {"$unset": {path: ""}, "$inc": {MARKER_COUNT: -1}}
    )


async def deliver_pending(tenant: TenantMongo, older_than_s: float = LEASE_S) -> int:
    """Finish the audited changes of one organization whose writer stopped half way; returns how many."""
    cutoff = now() - dt.timedelta(seconds=older_than_s)
    delivered = 0
    for collection in MARKED_COLLECTIONS:
        for doc in await tenant.find(collection, {MARKER_COUNT: {"$gt": 0}}):
            for marker in (doc.get(MARKER) or {}).values():
                if marker["at"] <= cutoff:
                    await deliver(tenant, collection, doc["_id"], Pending.from_marker(marker))
                    delivered += 1
    return delivered


async def deliver_pending_audits(store: MongoStore, older_than_s: float = LEASE_S) -> int:
    """`deliver_pending` for every organization; meant for a periodic background task."""
    organizations: set[str] = set()
    for collection in MARKED_COLLECTIONS:
        organizations.update(await store.organizations_matching(collection, {MARKER_COUNT: {"$gt": 0}}))
    delivered = 0
    for organization in sorted(organizations):
        delivered += await deliver_pending(store.tenant(organization), older_than_s)
    return delivered


async def recover_attempt(tenant: TenantMongo, event_id: str) -> Document | None:
    """The audit event of an abandoned attempt if its change happened (delivering it first), else None."""
    path = f"{MARKER}.{event_id}"
    for collection in MARKED_COLLECTIONS:
        doc = await tenant.find_one(collection, {path: {"$exists": True}})
        if doc is not None:
            await deliver(tenant, collection, doc["_id"], Pending.from_marker(doc[MARKER][event_id]))
            break
    # Looked up after the markers: a delivery racing with us has inserted the event by now.
    return await tenant.find_one("audit_logs", {"event_id": event_id})


# --- the unit of work -------------------------------------------------------------------


class Writes:
    """What a mutation may do: read, and make its one audited change.

    Without a session every write carries its audit event as a marker; with
    one (a transaction) the event is written beside the change instead.
    """

    def __init__(self, tenant: TenantMongo, attempt: Attempt, session: AsyncClientSession | None) -> None:
        self.tenant = tenant
        self.attempt = attempt
        self.session = session
        self.pending: Pending | None = None  # set while the change may have happened
        self.location: tuple[str, Any] | None = None  # (collection, _id) of the changed document

    async def find(
        self, collection: str, query: Mapping[str, Any] | None = None, *, sort: Sequence[tuple[str, int]] | None = None
    ) -> list[Document]:
        docs = await self.tenant.find(collection, query, sort=sort, session=self.session)
        return [without_marker(doc) for doc in docs]

    async def find_one(
        self, collection: str, query: Mapping[str, Any] | None = None, *, sort: Sequence[tuple[str, int]] | None = None
    ) -> Document | None:
        doc = await self.tenant.find_one(collection, query, sort=sort, session=self.session)
        return without_marker(doc) if doc is not None else None

    async def tidy(self, collection: str, query: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        """An unaudited housekeeping update, e.g. marking an invitation that ran out of time as expired."""
        await self.tenant.update_one(collection, query, update, session=self.session)

    async def insert(self, collection: str, document: Document, audit: Audit) -> Document:
        """Insert the changed object; raises DuplicateKeyError (nothing changed) on a unique-key clash."""
        pending = self._begin(audit, [])
        stored = {**document, **self._marker(pending, insert=True)}
        try:
            await self.tenant.insert_one(collection, stored, session=self.session)
        except DuplicateKeyError:
            self.pending = None
            raise
        self.location = (collection, document["_id"])
        return without_marker(self.tenant.scoped_document(collection, document))

    async def update(
        self,
        collection: str,
        query: Mapping[str, Any],
        update: Mapping[str, Any],
        audit: Audit,
        *,
        also_insert: tuple[str, Document] | None = None,
    ) -> Document | None:
        """Conditionally update the changed object; None (nothing changed) when `query` matches nothing.

        `also_insert` is a document that exists exactly when the update happened,
        e.g. the execution a quota unit pays for.
        """
        pending = self._begin(audit, [also_insert] if also_insert else [])
        change = _merge(update, self._marker(pending, insert=False))
        doc = await self.tenant.find_one_and_update(
            collection, query, change, return_document=ReturnDocument.AFTER, session=self.session
        )
        if doc is None:
            self.pending = None
            return None
        self.location = (collection, doc["_id"])
        if also_insert and self.session is not None:
            await self.tenant.insert_one(*also_insert, session=self.session)
        return without_marker(doc)

    async def delete(self, collection: str, query: Mapping[str, Any], audit: Audit) -> Document | None:
        """Conditionally delete the changed object (`query` names its `_id`); None when nothing matched.

        Without a transaction the document first carries its audit event and its own deletion as a
        marker, and is deleted when the event is delivered: never gone without its event.
        """
        pending = self._begin(audit, [])
        if self.session is not None:
            doc = await self.tenant.find_one(collection, query, session=self.session)
            if doc is None or not await self.tenant.delete_one(collection, query, session=self.session):
                self.pending = None
                return None
        else:
            pending.deletes.append((collection, query["_id"]))
            doc = await self.tenant.find_one_and_update(
                collection, query, self._marker(pending, insert=False), session=self.session
            )
            if doc is None:
                self.pending = None
                return None
        self.location = (collection, doc["_id"])
        return without_marker(doc)

    async def finish(self) -> None:
        """Write the audit event of the change (if one was made)."""
        if self.pending is None or self.location is None:
            return
        if self.session is not None:
            await self.tenant.insert_one("audit_logs", self.pending.event, session=self.session)
        else:
            await deliver(self.tenant, *self.location, self.pending)

    def _begin(self, audit: Audit, inserts: list[tuple[str, Document]]) -> Pending:
        if self.location is not None:
            raise RuntimeError("a mutation makes one audited change")
        event = audit_event(
            organization_key=self.tenant.organization_id,
            actor=self.attempt.actor,
            action=audit.action,
            target_type=audit.target_type,
            target_id=audit.target_id,
            details=audit.details,
            request_id=self.attempt.request_id,
        )
        event.update(event_id=self.attempt.event_id, at=now())
        self.pending = Pending(event, [(c, self.tenant.scoped_document(c, d)) for c, d in inserts])
        return self.pending

    def _marker(self, pending: Pending, *, insert: bool) -> Document:
        if self.session is not None:
            return {}
        event_id = pending.event["event_id"]
        if insert:
            return {MARKER: {event_id: pending.marker()}, MARKER_COUNT: 1}
        return {"$set": {f"{MARKER}.{event_id}": pending.marker()}, "$inc": {MARKER_COUNT: 1}}


def _merge(update: Mapping[str, Any], extra: Mapping[str, Any]) -> Document:
    merged: Document = {op: dict(fields) for op, fields in update.items()}
    for op, fields in extra.items():
        merged.setdefault(op, {}).update(fields)
    return merged
