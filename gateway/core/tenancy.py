"""Which organization a request belongs to, resolved from either store."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from uuid import UUID

from bson import ObjectId

from gateway.errors import StoreUnavailable
from gateway.stores.mongo import MongoStore
from gateway.stores.postgres import PostgresStore

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


@dataclass(frozen=True)
class OrgRef:
    """One organization as both stores know it."""

    enterprise_id: str  # MongoDB organizations._id as 24-hex
    brain_id: UUID | None  # PostgreSQL organizations.id, None when not linked
    slug: str
    name: str


@dataclass
class OrgDirectory:
    """Looks organizations up by slug or id, with a short cache.

    MongoDB is asked first (it owns the enterprise record); when it is down,
    the Brain store's `enterprise_org_id` link answers, so a MongoDB outage
    does not lock everyone out.
    """

    mongo: MongoStore
    postgres: PostgresStore
    ttl_s: float = 60.0
    _cache: dict[str, tuple[float, OrgRef]] = field(default_factory=dict)
    _subjects: dict[str, tuple[float, str]] = field(default_factory=dict)

    async def resolve(self, value: str) -> OrgRef | None:
        cached = self._cache.get(value)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            ref = await self._from_mongo(value)
        except StoreUnavailable:
            ref = await self._from_postgres(value)
        if ref is not None:
            self._cache[value] = (time.monotonic() + self.ttl_s, ref)
        return ref

    async def organization_of_subject(self, subject: str) -> str | None:
        """The organization (slug) whose member has this OIDC subject, in either store; cached."""
        cache_key = f"sub:{subject}"
        cached = self._subjects.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        slug: str | None = None
        try:
            user = await self.mongo.find_user_by_subject(subject)
            if user is not None:
                org = await self.resolve(str(user["organization_id"]))
                slug = org.slug if org else None
        except StoreUnavailable:
            user = None
        if slug is None:
            slug = await self._subject_in_postgres(subject)
        if slug is not None:
            self._subjects[cache_key] = (time.monotonic() + self.ttl_s, slug)
        return slug

    async def _subject_in_postgres(self, subject: str) -> str | None:
        try:
            auth_id = UUID(subject)
        except ValueError:
            return None  # Brain users are keyed by UUID subjects only
        try:
            # Across tenants, so on the system login, through the owner-defined function (which the
            # request login may not call): it sees no table rows itself.
            async with self.postgres.system() as conn:
                value = await conn.fetchval("SELECT public.directory_slug_of_subject($1)", auth_id)
        except Exception:  # PostgreSQL down too: the subject cannot be placed
            return None
        return str(value) if value is not None else None

    async def _from_mongo(self, value: str) -> OrgRef | None:
        doc = await self.mongo.find_organization(
            **({"_id": ObjectId(value)} if OBJECT_ID.match(value) else {"slug": value})
        )
        if doc is None:
            return None
        brain = doc.get("brain_org_id")
        return OrgRef(str(doc["_id"]), UUID(brain) if brain else None, doc["slug"], doc["name"])

    async def _from_postgres(self, value: str) -> OrgRef | None:
        lookup = (
            "public.directory_organization_by_enterprise_id"
            if OBJECT_ID.match(value)
            else "public.directory_organization_by_slug"
        )
        try:
            async with self.postgres.system() as conn:
                row = await conn.fetchrow(f"SELECT id, slug, name, enterprise_org_id FROM {lookup}($1)", value)
        except Exception as exc:  # both stores down: nobody can be authenticated
            raise StoreUnavailable("postgres") from exc
        if row is None or row["enterprise_org_id"] is None:
            return None
        return OrgRef(row["enterprise_org_id"], row["id"], row["slug"], row["name"])
