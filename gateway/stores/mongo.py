"""The MongoDB (enterprise) access layer.

`TenantMongo` is the only way request code reaches MongoDB: it adds the
organization to every filter, insert, update and aggregation, and refuses a
call that tries to name another organization. Cross-document references
(`organization_id`, `workflow_id`, ...) are stored as 24-hex strings: the
embedded stand-in cannot count or aggregate on ObjectId-valued fields, and
strings behave identically on real MongoDB.

What else the stand-in (nx-27017) needs (`mongo_standin`) is decided here,
once per process from the server's own `buildInfo` (`ServerProfile`), and
applied only when the server is the stand-in: domain code asks for what it
wants (a page per group, an update) and never knows which server answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from gateway.errors import StoreUnavailable
from gateway.stores.circuit import Circuit
from gateway.stores.mongo_scope import UnscopedQuery, check_org_scoped, reject_org_change
from gateway.stores.mongo_standin import (
    ServerProfile,
    count_here,
    grouped,
    keep_datetime_types,
    null_matches,
    page_groups,
    sets_datetime,
)
from gateway.stores.tracing import current_trace, timed

T = TypeVar("T")

Document = dict[str, Any]

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, ServerSelectionTimeoutError, ExecutionTimeout)
# No server to talk to (selection gave up, connection refused or reset): opens the circuit at once.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (ServerSelectionTimeoutError, ConnectionFailure)


@contextmanager
def _untraced() -> Iterator[None]:
    # A one-off probe of the server is the process's work, not the request's that happened to ask first.
    token = current_trace.set(None)
    try:
        yield
    finally:
        current_trace.reset(token)


@dataclass
class MongoStore:
    url: str
    database: str = "omnify_cloud"
    timeout_s: float = 5.0
    client: AsyncMongoClient[Document] | None = field(default=None, repr=False)
    # None: ask the server once (`transactions_supported`); tests may force either answer.
    transactions: bool | None = None
    server: ServerProfile | None = None  # asked once (`profile`)
    circuit: Circuit = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.circuit = Circuit(
            "mongo", self.ping_once, self.timeout_s, UNREACHABLE_ERRORS, timeouts=(NetworkTimeout, TimeoutError)
        )

    async def open(self) -> None:
        # The client connects lazily and reconnects by itself after an outage.
        ms = int(self.timeout_s * 1000)
        self.client = AsyncMongoClient(
            self.url,
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            # A hung server is detected by the circuit after the store timeout; this is
            # only the driver's last resort for a call that nothing else watches.
            socketTimeoutMS=max(2 * ms, 30_000),
            tz_aware=True,
        )

    async def close(self) -> None:
        await self.circuit.stop()
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def run(self, operation: Awaitable[T]) -> T:
        """One MongoDB operation, counted for the request and watched by the circuit."""
        with timed("mongo"):
            try:
                return await self.circuit.call(operation)
            except UNAVAILABLE_ERRORS as exc:
                raise StoreUnavailable("mongo") from exc

    @property
    def db(self) -> AsyncDatabase[Document]:
        if self.client is None:
            raise StoreUnavailable("mongo")
        return self.client[self.database]

    async def ping(self) -> None:
        await self.run(self.db.command("ping"))

    async def ping_once(self) -> None:
        """The circuit's probe: a ping outside the circuit (which may be open)."""
        await self.db.command("ping")

    async def profile(self) -> ServerProfile:
        """What the server is (`ServerProfile.of`), asked once."""
        if self.server is None:
            with _untraced():
                reply = await self.run(self.db.command("buildInfo"))
            self.server = ServerProfile.of(reply)
        return self.server

    def tenant(self, organization_id: str) -> TenantMongo:
        return TenantMongo(self, organization_id)

    async def transactions_supported(self) -> bool:
        """Whether the server runs multi-document transactions: a replica-set member or a mongos.

        A standalone server (and the nx-27017 stand-in) does not say `setName`, so
        mutations fall back to single-document atomicity there.
        """
        if self.transactions is None:
            reply = await self.run(self.db.command("hello"))
            self.transactions = "setName" in reply or reply.get("msg") == "isdbgrid"
        return self.transactions

    async def change_streams_supported(self) -> bool:
        """Whether the server has change streams: like transactions, only a replica set or a mongos.

        Asked afresh (not the cached, overridable transactions answer). A standalone
        server, and the nx-27017 stand-in, answer no, and subscribers then hear only
        what the gateways themselves announce.
        """
        try:
            with timed("mongo"):
                reply = await self.db.command("hello")
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("mongo") from exc
        return "setName" in reply or reply.get("msg") == "isdbgrid"

    async def watch_updates(self, collection: str) -> AsyncIterator[Document]:
        """The documents of an organization-scoped collection as updates leave them, until the stream fails."""
        check_org_scoped(collection)
        pipeline = [{"$match": {"operationType": {"$in": ["update", "replace"]}}}]
        async with await self.db[collection].watch(pipeline, full_document="updateLookup") as stream:
            async for change in stream:
                document = change.get("fullDocument")
                if document is not None:
                    yield document

    def start_session(self) -> AsyncClientSession:
        if self.client is None:
            raise StoreUnavailable("mongo")
        return self.client.start_session()

    async def organizations_matching(self, collection: str, query: Mapping[str, Any]) -> list[str]:
        """Ids of the organizations having a document that matches, for background sweeps.

        Only organization ids leave this call; the work on each one goes through its `TenantMongo`.
        """
        check_org_scoped(collection)
        found = await self.run(self.db[collection].distinct("organization_id", dict(query)))
        return sorted(str(organization_id) for organization_id in found)

    async def find_organization(self, **by: Any) -> Document | None:
        """Directory lookup used by authentication, before a tenant is known."""
        (key, value), *rest = by.items()
        if rest or key not in ("slug", "_id", "brain_org_id"):
            raise UnscopedQuery(f"organizations can only be looked up by one of slug, _id, brain_org_id: {by}")
        return await self.run(self.db.organizations.find_one({key: value}))

    async def find_user_by_subject(self, subject: str) -> Document | None:
        return await self.run(self.db.users.find_one({"oidc_subject": subject}))

    async def find_user_by_email(self, email: str) -> Document | None:
        """Whether an address already has an account, in any organization (addresses are unique store-wide)."""
        try:
            with timed("mongo"):
                return await self.db.users.find_one({"email": email})
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("mongo") from exc

    async def find_invitation(self, **by: Any) -> Document | None:
        """The invitation an invitee names, before a tenant is known: by `_id` or by `token_hash`."""
        (key, value), *rest = by.items()
        if rest or key not in ("_id", "token_hash"):
            raise UnscopedQuery(f"invitations can only be looked up by one of _id, token_hash: {by}")
        try:
            with timed("mongo"):
                return await self.db.team_invitations.find_one({key: value})
        except UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable("mongo") from exc


@dataclass
class TenantMongo:
    store: MongoStore
    organization_id: str

    def _scope(self, collection: str) -> Document:
        if collection == "organizations":
            return {"_id": ObjectId(self.organization_id)}
        check_org_scoped(collection)
        return {"organization_id": self.organization_id}

    def scoped_filter(self, collection: str, query: Mapping[str, Any] | None) -> Document:
        scope = self._scope(collection)
        query = dict(query or {})
        for key, value in scope.items():
            if key in query and query[key] != value:
                raise UnscopedQuery(f"filter on {collection} names another organization")
            query[key] = value
        return query

    async def find(
        self,
        collection: str,
        query: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        projection: Mapping[str, Any] | None = None,
        session: AsyncClientSession | None = None,
    ) -> list[Document]:
        scoped = await self._filter_for_server(self.scoped_filter(collection, query))
        cursor = self.store.db[collection].find(scoped, projection, session=session)
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return await self.store.run(cursor.to_list(None))

    async def find_one(
        self,
        collection: str,
        query: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        session: AsyncClientSession | None = None,
    ) -> Document | None:
        rows = await self.find(collection, query, sort=sort, limit=1, session=session)
        return rows[0] if rows else None

    async def find_per_group(
        self,
        collection: str,
        query: Mapping[str, Any],
        *,
        group: str,
        sort: Sequence[tuple[str, int]],
        skip: int,
        limit: int,
    ) -> dict[str, list[Document]]:
        """For each value of the field `group`, its documents `skip`..`skip + limit` in `sort` order.

        One round trip either way: MongoDB numbers each group's documents in the
        server (`$setWindowFields`) and returns only the pages; the stand-in has
        no window functions, so there the groups' documents come whole and are
        paged here.
        """
        if (await self.store.profile()).window_functions:
            docs = await self.aggregate(
                collection,
                [
                    {"$match": dict(query)},
                    {
                        "$setWindowFields": {
                            "partitionBy": f"${group}",
                            "sortBy": dict(sort),
                            "output": {"_position": {"$documentNumber": {}}},
                        }
                    },
                    {"$match": {"_position": {"$gt": skip, "$lte": skip + limit}}},
                    {"$sort": {group: 1, "_position": 1}},
                    {"$unset": "_position"},
                ],
            )
            return grouped(docs, group)
        return page_groups(await self.find(collection, query, sort=sort), group, skip, limit)

    async def count_by(
        self, collection: str, query: Mapping[str, Any], fields: Sequence[str]
    ) -> dict[tuple[str, ...], int]:
        """How many documents match `query` for each combination of the values of `fields` (as strings).

        One round trip either way: MongoDB groups in the server; the stand-in
        groups by one field only (a compound `_id` comes back as its literal
        text), so for several fields it returns just those fields and they are
        counted here.
        """
        if len(fields) > 1 and (await self.store.profile()).stand_in:
            docs = await self.find(collection, query, projection={"_id": 0, **dict.fromkeys(fields, 1)})
            return count_here(docs, fields)
        key: Any = f"${fields[0]}" if len(fields) == 1 else {f"k{i}": f"${name}" for i, name in enumerate(fields)}
        rows = await self.aggregate(collection, [{"$match": dict(query)}, {"$group": {"_id": key, "n": {"$sum": 1}}}])
        return {_group_values(row["_id"], len(fields)): int(row["n"]) for row in rows}

    async def count(self, collection: str, query: Mapping[str, Any] | None = None) -> int:
        return int(
            await self.store.run(
                self.store.db[collection].count_documents(
                    await self._filter_for_server(self.scoped_filter(collection, query))
                )
            )
        )

    async def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        stages: list[Mapping[str, Any]] = [{"$match": self.scoped_filter(collection, None)}]
        for stage in pipeline:
            match = stage.get("$match")
            stages.append({"$match": await self._filter_for_server(match)} if isinstance(match, Mapping) else stage)

        async def run() -> list[Document]:
            cursor = await self.store.db[collection].aggregate(stages)
            return await cursor.to_list(None)

        return await self.store.run(run())

    def scoped_document(self, collection: str, document: Mapping[str, Any]) -> Document:
        if collection == "organizations":
            raise UnscopedQuery("organizations are not created through a tenant")
        doc = dict(document)
        if doc.setdefault("organization_id", self.organization_id) != self.organization_id:
            raise UnscopedQuery(f"document for {collection} names another organization")
        self._scope(collection)
        return doc

    async def insert_one(self, collection: str, document: Mapping[str, Any], **kwargs: Any) -> Any:
        doc = self.scoped_document(collection, document)
        result = await self.store.run(self.store.db[collection].insert_one(doc, **kwargs))
        return result.inserted_id

    async def insert_many(self, collection: str, documents: Sequence[Mapping[str, Any]], **kwargs: Any) -> None:
        docs = [self.scoped_document(collection, document) for document in documents]
        await self.store.run(self.store.db[collection].insert_many(docs, **kwargs))

    async def _filter_for_server(self, query: Mapping[str, Any]) -> Document:
        """The filter as the server needs it to match what MongoDB would (`mongo_standin.null_matches`)."""
        if not (await self.store.profile()).stand_in:
            return dict(query)
        return null_matches(query)

    async def _for_server(self, update: Mapping[str, Any]) -> Document:
        """The update as the server needs it to keep the types of the values it sets (`keep_datetime_types`)."""
        if sets_datetime(update) and (await self.store.profile()).stand_in:
            return keep_datetime_types(update)
        return dict(update)

    async def update_one(
        self, collection: str, query: Mapping[str, Any], update: Mapping[str, Any], **kwargs: Any
    ) -> int:
        reject_org_change(update)
        scoped = self.scoped_filter(collection, query)
        change = await self._for_server(update)
        result = await self.store.run(self.store.db[collection].update_one(scoped, change, **kwargs))
        return int(result.modified_count)

    async def find_one_and_update(
        self, collection: str, query: Mapping[str, Any], update: Mapping[str, Any], **kwargs: Any
    ) -> Document | None:
        reject_org_change(update)
        scoped = self.scoped_filter(collection, query)
        change = await self._for_server(update)
        return await self.store.run(self.store.db[collection].find_one_and_update(scoped, change, **kwargs))

    async def delete_one(self, collection: str, query: Mapping[str, Any], **kwargs: Any) -> int:
        scoped = self.scoped_filter(collection, query)
        result = await self.store.run(self.store.db[collection].delete_one(scoped, **kwargs))
        return int(result.deleted_count)


def _group_values(group: Any, count: int) -> tuple[str, ...]:
    if count == 1:
        return (str(group),)
    return tuple(str(group.get(f"k{i}")) for i in range(count))


__all__ = ["MongoStore", "PyMongoError", "TenantMongo"]
