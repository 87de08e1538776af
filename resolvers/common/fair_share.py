"""Rate limits and admission, once the document is known to be valid and its cost estimated.

Runs around execution, over HTTP and WebSocket alike: first the request is charged
its base plus its estimated cost to its principal's and organization's buckets
(`RateLimited` when either is short), then it takes slots of its organization in
this worker, one per `admission_cost_per_slot` of cost (waiting its turn,
`RateLimited` when the wait runs out), and keeps them until execution ends. A subscription holds its slot only while its event stream is
set up: the events that follow run in no slot and are charged nothing, since the
mutations that cause them were charged already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from gateway.core.context import RequestContext
from gateway.errors import RateLimited


class FairShare(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, RequestContext):
            yield
            return
        limiter, admission = context.services.limiter, context.services.admission
        if limiter is not None:
            decision = await limiter.charge(context.principal, context.cost)
            context.rate = decision
            if decision is not None and not decision.allowed:
                whose = "your organization's" if decision.scope == "organization" else "your"
                raise RateLimited(
                    f"{whose} rate limit is exceeded (this request costs {limiter.points(context.cost)} points); "
                    f"retry after {decision.retry_after_s} s",
                    decision.retry_after_s,
                    limit=decision.scope,
                )
        if admission is None:
            yield
            return
        slots = 1 + context.cost // context.settings.admission_cost_per_slot
        async with admission.slot(context.principal.organization.enterprise_id, slots):
            yield
