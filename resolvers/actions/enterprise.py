"""The one path of enterprise mutations (MongoDB): team invitations and AgentKit workflows.

Every mutation goes through `run_enterprise_mutation`: authorization, then the
idempotency key, then `perform`, which validates the input, reads what it
needs and makes one audited change through `Writes` (gateway/core/mongo_mutations.py
explains how the change and its audit event stay together). User errors are
answers, stored under the idempotency key like any other response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from gateway.core.idempotency import principal_key, request_hash
from gateway.core.mongo_idempotency import MongoMutation
from gateway.core.mongo_mutations import Attempt, Writes
from gateway.core.permissions import Permission
from gateway.core.realtime import audit_notice
from gateway.core.rules import Rejected
from gateway.data.enterprise import audit, invitations
from gateway.stores.mongo import Document, TenantMongo
from resolvers.actions.common import Ctx, MutationInput, Outcome, actor, input_arguments

Perform = Callable[[Writes], Awaitable[Outcome]]


async def _recovered(tenant: TenantMongo, event: Document) -> dict[str, Any]:
    """The response for a key whose first attempt changed data and then died: the object as it is now."""
    key, doc = await audit.target_now(tenant, event)
    rows = {key: invitations.public(doc)} if doc else {}
    return Outcome(rows=rows).to_snapshot()


async def run_enterprise_mutation(
    info: Ctx,
    *,
    operation: str,
    permission: Permission,
    input: MutationInput,
    perform: Perform,
    tenant: TenantMongo | None = None,
) -> Outcome:
    """Run one enterprise mutation in the caller's organization, or in `tenant` when the organization
    comes from the object acted on (an invitee accepting an invitation belongs to none yet)."""
    ctx = info.context
    ctx.require(permission)
    tenant = tenant or ctx.mongo
    mutation = MongoMutation(
        tenant,
        Attempt(actor(ctx), ctx.request_id),
        operation,
        request_hash(operation, input_arguments(input)),
        principal_key(ctx.principal),
    )

    async def attempt(writes: Writes) -> dict[str, Any]:
        try:
            outcome = await perform(writes)
        except Rejected as rejected:
            if writes.location is not None:
                raise RuntimeError(f"{operation} rejected after changing data") from rejected
            outcome = Outcome(errors=rejected.errors)
        return outcome.to_snapshot()

    snapshot = await mutation.run(input.idempotency_key, attempt, partial(_recovered, tenant))
    outcome = Outcome.from_snapshot(snapshot)
    if not outcome.errors:
        # A replay announces an event id that was never stored, which subscribers' gateways skip.
        ctx.services.realtime.announce(audit_notice(tenant.organization_id, mutation.attempt.event_id))
    await info.context.after_write()
    return outcome
