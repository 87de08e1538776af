"""Persisted queries (Apollo's automatic persisted queries) and trusted documents.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` instead of the document;
the gateway answers `PersistedQueryNotFound` for a hash it does not know, and the client sends
the hash with the document once, which registers it. Registered documents are global by hash
(a document's text is no tenant's data) and live in Redis when REDIS_URL is set, so every
replica finds them, else (and while Redis fails) in a bounded in-process LRU. A document is
registered only after it parsed, validated and passed the document limits in an authenticated
request, and only up to the document size limit.

Trusted documents are the manifest an operator loaded at start (`manifest.py`): they run by
`documentId` or by their hash, and partners (by default) or users may be held to them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core.config import Settings
from gateway.core.manifest import HEX_ID, document_hash, hash_of_id
from gateway.core.redis_link import REDIS_FAILURES, RedisLink
from gateway.errors import PersistedQueryRefused

log = logging.getLogger("omnify.persisted")

# One Redis Cluster slot for the whole namespace (the braces): the script below touches the index and documents.
PREFIX = "omnify:apq:{apq}:"
INDEX = PREFIX + "index"

# KEYS: the index (a sorted set of document keys by registration time), the document's key.
# ARGV: the document, its time to live in seconds, the most documents kept. Keeps the newest.
REGISTER = """
local now = tonumber(redis.call('TIME')[1])
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ttl)
redis.call('ZADD', KEYS[1], now, KEYS[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do redis.call('DEL', key) end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""

# A miss must not be cached by a CDN in front of GET: the next request may register the document.
NO_CACHE = "private, no-cache, must-revalidate"


class SharedDocuments(RedisLink):
    """Registered documents in Redis; `get` misses while Redis is unavailable."""

    def __init__(self, url: str, timeout_s: float, max_entries: int, ttl_s: int) -> None:
        super().__init__(url, timeout_s, log, ("persisted queries", "in-process documents until it answers"))
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.script = self.client.register_script(REGISTER)

    async def get(self, digest: str) -> str | None:
        if not self.up:
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                raw = await self.client.get(PREFIX + digest)
        except REDIS_FAILURES as exc:
            self.failed(f"{type(exc).__name__}: {exc}")
            return None
        if raw is None:
            return None
        return raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else str(raw)

    async def put(self, digest: str, document: str) -> None:
        if not self.up:
            return
        args: list[bytes | int] = [document.encode("utf-8", "surrogatepass"), self.ttl_s, self.max_entries]
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.script(keys=[INDEX, PREFIX + digest], args=args)
        except REDIS_FAILURES as exc:
            self.failed(f"{type(exc).__name__}: {exc}")


class LocalDocuments:
    """The in-process LRU: at most `size` documents, each for `ttl_s` after it was registered."""

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self.entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, digest: str) -> str | None:
        entry = self.entries.get(digest)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del self.entries[digest]
            return None
        self.entries.move_to_end(digest)
        return entry[0]

    def put(self, digest: str, document: str, expires: float | None = None) -> None:
        self.entries[digest] = (document, expires or time.monotonic() + self.ttl_s)
        self.entries.move_to_end(digest)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


@dataclass(frozen=True)
class Resolved:
    """The document a request runs, and the hash to register it under once it validates (APQ)."""

    document: str
    register: str | None = None


def refused(code: str, message: str, status: int | None) -> PersistedQueryRefused:
    return PersistedQueryRefused(code, message, status)


def persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash of `extensions.persistedQuery`, checked; None when the request has none."""
    given = (extensions or {}).get("persistedQuery")
    if given is None:
        return None
    if not isinstance(given, dict):
        raise refused(
            "BAD_USER_INPUT", "`extensions.persistedQuery` must be an object with version and sha256Hash", 400
        )
    version = given.get("version")
    if type(version) is not int or version != 1:
        message = f"persisted query version {version!r} is not supported; send version 1"
        raise refused("PERSISTED_QUERY_VERSION_NOT_SUPPORTED", message, 400)
    digest = given.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64 or not HEX_ID.fullmatch(digest.lower()):
        raise refused("BAD_USER_INPUT", "`extensions.persistedQuery.sha256Hash` must be 64 hex digits", 400)
    return digest.lower()


class PersistedQueries:
    """Where a request's document comes from: sent, registered (APQ), or trusted (the manifest)."""

    def __init__(self, settings: Settings, shared: SharedDocuments | None) -> None:
        self.enabled = settings.apq
        self.max_chars = settings.max_document_chars
        self.max_bytes = settings.apq_max_bytes
        self.local = LocalDocuments(settings.apq_cache_size, settings.apq_ttl_s)
        self.shared = shared
        self.manifest: Mapping[str, str] = settings.trusted_documents or {}
        self.trusted_texts = frozenset(self.manifest.values())
        has_manifest = self.has_manifest = settings.trusted_documents is not None
        self.partners_required = has_manifest and settings.trusted_partners == "required"
        self.users_required = has_manifest and settings.trusted_users == "required"

    @classmethod
    def configure(cls, settings: Settings) -> PersistedQueries:
        shared = None
        if settings.apq and settings.redis_url:
            shared = SharedDocuments(
                settings.redis_url, settings.redis_timeout_s, settings.apq_redis_entries, settings.apq_ttl_s
            )
        return cls(settings, shared)

    async def resolve(
        self, query: str | None, document_id: str | None, extensions: Mapping[str, Any] | None, kind: str
    ) -> Resolved:
        required = self.partners_required if kind == "partner" else self.users_required
        if document_id is not None:
            if query is not None:
                raise refused("BAD_USER_INPUT", "send either `query` or `documentId`, not both", 400)
            return Resolved(self._trusted(document_id))
        digest = persisted_hash(extensions)
        if digest is None:
            if query is None:
                raise refused(
                    "BAD_USER_INPUT", "the `query` parameter is required (or a `documentId`, or a persisted query)", 400
                )
            if required and query not in self.trusted_texts:
                raise self._required(kind)
            return Resolved(query)
        if query is not None and document_hash(query) != digest:
            message = "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`; nothing was stored"
            raise refused("PERSISTED_QUERY_HASH_MISMATCH", message, 400)
        listed = self.manifest.get(digest)
        if listed is not None:
            return Resolved(listed)
        if required:
            raise self._required(kind)
        if not self.enabled:
            raise refused("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 200)
        if query is not None:
            return Resolved(query, register=digest)
        found = await self.get(digest)
        if found is None:
            raise refused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)
        return Resolved(found)

    def _trusted(self, document_id: str) -> str:
        if not self.has_manifest:
            # Not "unknown": no id can work here, so a client should send the document's text instead.
            message = "this gateway has no trusted-documents manifest, so no `documentId` runs: send the `query`"
            raise refused("PERSISTED_DOCUMENT_NOT_SUPPORTED", message, None)
        digest = hash_of_id(document_id.lower())
        found = self.manifest.get(digest) if digest else None
        if found is None:
            message = f"no trusted document has the id {document_id[:80]!r}"
            raise refused("PERSISTED_DOCUMENT_NOT_FOUND", message, None)
        return found

    @staticmethod
    def _required(kind: str) -> PersistedQueryRefused:
        who = "partner tokens" if kind == "partner" else "this gateway's users"
        message = (
            f"{who} may run only trusted documents: send a `documentId` (or persisted-query hash) from the manifest"
        )
        return refused("PERSISTED_DOCUMENT_REQUIRED", message, 403)

    async def get(self, digest: str) -> str | None:
        found = self.local.get(digest)
        if found is None and self.shared is not None:
            found = await self.shared.get(digest)
            if found is not None and document_hash(found) == digest:  # what Redis holds is checked, not trusted
                self.local.put(digest, found)
            else:
                found = None
        return found

    async def register(self, digest: str, document: str) -> None:
        """Keep a document that just parsed, validated and passed the limits (never one over the size limit)."""
        if len(document) > self.max_chars or self.local.get(digest) is not None:
            return
        # Bounded by bytes, not characters: 64,000 four-byte characters are a quarter megabyte.
        if len(document.encode("utf-8", "surrogatepass")) > self.max_bytes:
            return
        self.local.put(digest, document)
        if self.shared is not None:
            await self.shared.put(digest, document)

    async def readiness(self) -> dict[str, Any]:
        """Where registered documents are kept: never a reason to be unready (in-process still works)."""
        trusted = len(self.manifest)
        if not self.enabled:
            return {"apq": "off", "trustedDocuments": trusted}
        if self.shared is None:
            return {"configured": False, "store": "in-process", "trustedDocuments": trusted}
        state = await self.shared.state()
        store = "redis" if state["ok"] else "in-process (fallback)"
        return {"configured": True, **state, "store": store, "trustedDocuments": trusted}

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()
