"""An enterprise mutation run once per idempotency key, its change made as `mongo_mutations` describes.

Idempotency
-----------
`idempotency_keys` holds one document per (organization, principal, key)
whose `_id` is "<organization_id>:<principal>:<key>" (`principal`: a digest of
the caller's issuer and subject, `idempotency.principal_key`), so the unique
`_id` lets exactly one request claim a key, and one caller's keys never meet
another's. The claim stays `pending` while the mutation runs and becomes `done`
with the response, which concurrent duplicates wait for and return. Another
operation or input under the same key is a CONFLICT. When a mutation fails
with an error (not a user error) before it changed anything, the claim is
released so the key can be retried. A claim whose owner died is taken over
after `LEASE_S`, longer than a request may run: if the dead attempt's event
exists, its change happened and the key completes with the changed object as
it is now; otherwise the mutation runs afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError, PyMongoError

from gateway.core import idempotency
from gateway.core.mongo_mutations import (
    LEASE_S,
    Attempt,
    Perform,
    Recover,
    Response,
    Writes,
    dumps,
    loads,
    now,
    recover_attempt,
)
from gateway.errors import Conflict
from gateway.stores.mongo import Document, TenantMongo

log = logging.getLogger("omnify.mongo_mutations")

KEYS = "idempotency_keys"
WAIT_S = 10.0  # how long a duplicate request waits for the first one to finish


# --- idempotency keys -------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """This attempt owns the key; `previous` is the attempt it took the key over from, if any."""

    record_id: str
    attempt: str
    previous: str | None = None


@dataclass(frozen=True)
class Replay:
    response: Response


async def _claim(
    tenant: TenantMongo, key: str, principal: str, operation: str, digest: str, attempt: str
) -> Claim | Replay:
    idempotency.check_key(key)
    record_id = f"{tenant.organization_id}:{principal}:{key}"
    record = {
        "_id": record_id,
        "key": key,
        "principal": principal,
        "operation": operation,
        "request_hash": digest,
        "state": "pending",
    }
    deadline = asyncio.get_running_loop().time() + WAIT_S
    delay = 0.01
    while True:
        try:
            await tenant.insert_one(KEYS, {**record, "attempt": attempt, "claimed_at": now()})
            return Claim(record_id, attempt)
        except DuplicateKeyError:
            pass
        existing = await tenant.find_one(KEYS, {"_id": record_id})
        if existing is None:
            continue  # released meanwhile: claim it again
        if existing["operation"] != operation or existing["request_hash"] != digest:
            raise Conflict("this idempotency key was already used with different input", idempotencyKey=key)
        if existing["state"] == "done":
            return Replay(loads(existing["response"]))
        taken = await _take_over_if_abandoned(tenant, existing, attempt)
        if taken is not None:
            return taken
        if asyncio.get_running_loop().time() > deadline:
            raise Conflict("a request with this idempotency key is still in progress; retry later", idempotencyKey=key)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


async def _take_over_if_abandoned(tenant: TenantMongo, existing: Document, attempt: str) -> Claim | None:
    if existing["claimed_at"] > now() - dt.timedelta(seconds=LEASE_S):
        return None
    # Conditional on the old owner, so of several waiters exactly one takes over.
    taken = await tenant.find_one_and_update(
        KEYS,
        {"_id": existing["_id"], "state": "pending", "attempt": existing["attempt"]},
        {"$set": {"attempt": attempt, "claimed_at": now()}},
    )
    return Claim(existing["_id"], attempt, previous=existing["attempt"]) if taken else None


async def _complete(tenant: TenantMongo, claim: Claim, response: str, session: AsyncClientSession | None) -> None:
    done = await tenant.update_one(
        KEYS,
        {"_id": claim.record_id, "attempt": claim.attempt, "state": "pending"},
        {"$set": {"state": "done", "response": response, "completed_at": now()}},
        session=session,
    )
    if not done:
        log.warning("idempotency key %s was taken over before its first attempt completed", claim.record_id)


async def _release(tenant: TenantMongo, claim: Claim | None) -> None:
    if claim is None:
        return
    try:
        await tenant.delete_one(KEYS, {"_id": claim.record_id, "attempt": claim.attempt, "state": "pending"})
    except Exception as exc:  # the key stays claimed until its lease runs out
        log.warning("could not release idempotency key %s: %s", claim.record_id, exc)


# --- running a mutation -----------------------------------------------------------------


@dataclass
class MongoMutation:
    """One enterprise mutation request: its tenant, actor, operation and input digest.

    `principal` namespaces its idempotency key (`idempotency.principal_key` of the caller).
    """

    tenant: TenantMongo
    attempt: Attempt
    operation: str
    digest: str
    principal: str

    async def run(self, key: str | None, perform: Perform, recover: Recover) -> Response:
        """The mutation's response, from `perform` or, for a repeated key, from the first attempt.

        `perform` returns the response (BSON-encodable); user errors belong in it,
        since only exceptions undo the claim. `recover` rebuilds a response from
        the audit event of an abandoned attempt whose change happened.
        """
        claim = None
        if key is not None:
            claim = await _claim(self.tenant, key, self.principal, self.operation, self.digest, self.attempt.event_id)
        if isinstance(claim, Replay):
            return claim.response
        if claim is not None and claim.previous is not None:
            event = await recover_attempt(self.tenant, claim.previous)
            if event is not None:
                return await self._store(claim, await recover(event), None)
        if await self.tenant.store.transactions_supported():
            return await self._in_transaction(claim, perform)
        return await self._with_marker(claim, perform)

    async def _store(self, claim: Claim | None, response: Response, session: AsyncClientSession | None) -> Response:
        # Answer with the stored form, so the first response and every replay are equal.
        stored = dumps(response)
        if claim is not None:
            await _complete(self.tenant, claim, stored, session)
        result: Response = loads(stored)
        return result

    async def _with_marker(self, claim: Claim | None, perform: Perform) -> Response:
        writes = Writes(self.tenant, self.attempt, None)
        try:
            response = await perform(writes)
            await writes.finish()
        except Exception:
            if writes.location is not None:
                with contextlib.suppress(Exception):  # else the sweep delivers it
                    await writes.finish()
            elif writes.pending is None:
                await _release(self.tenant, claim)
            # Otherwise the change may or may not have happened: the claim's lease decides later.
            raise
        return await self._store(claim, response, None)

    async def _in_transaction(self, claim: Claim | None, perform: Perform) -> Response:
        async def body(session: AsyncClientSession) -> Response:
            writes = Writes(self.tenant, self.attempt, session)
            response = await perform(writes)
            await writes.finish()
            return await self._store(claim, response, session)

        async with self.tenant.store.start_session() as session:
            try:
                return await session.with_transaction(body)
            except Exception as exc:
                if not (isinstance(exc, PyMongoError) and exc.has_error_label("UnknownTransactionCommitResult")):
                    await _release(self.tenant, claim)  # rolled back: nothing happened
                raise
