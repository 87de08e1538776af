"""What every mutation shares: typed user errors, idempotency, the audit event, one transaction.

`run_brain_mutation` is the one path for mutations of the Brain store:
authorization, the idempotency key, the change, its `action_logs` row and
its audit event all happen in one PostgreSQL transaction. A replay returns
the first response from its snapshot and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

import strawberry
from bson import ObjectId
from strawberry import Info

from gateway.core import idempotency, outbox, realtime
from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.core.rules import Rejected, UserError, reject
from gateway.data import ids
from gateway.data.brain import action_logs
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.rows import is_row, row_of
from gateway.errors import StoreUnavailable
from gateway.stores.postgres import TenantConnection

# Re-exported: payload types of every domain describe their error fields with these.
from resolvers.actions.errors import ERROR_FIELD as ERROR_FIELD
from resolvers.actions.errors import ERROR_MESSAGE as ERROR_MESSAGE
from resolvers.actions.errors import UserErrorCode

Ctx = Info[RequestContext, None]
T = TypeVar("T")
R = TypeVar("R", bound=NamedTuple)
E = TypeVar("E")

IdempotencyKey = strawberry.field(
    default=None,
    description="Retry-safe key: a repeat with the same key and input returns the first result and changes nothing; "
    "the same key with other input is a CONFLICT error. Kept per organization and caller (token issuer and "
    "subject): other callers' keys never collide with yours.",
)


def typed_errors(errors: list[UserError], error_type: Callable[..., E], codes: frozenset[UserErrorCode]) -> list[E]:
    """A payload's user errors as its domain's GraphQL error type (a `UserError`), the code as a `UserErrorCode`.

    `codes` are the domain's own: a code outside them is a bug of the mutation, refused here.
    """
    typed = [(UserErrorCode[e.code], e) for e in errors]
    stray = [code.name for code, _ in typed if code not in codes]
    if stray:
        raise ValueError(f"user error codes outside the domain: {stray}")
    return [error_type(code=code, message=e.message, field=e.field) for code, e in typed]


USER_ERRORS = "Why nothing changed, when it did not; empty on success."


def plain(value: Any) -> Any:
    """Input objects and enums as plain data, for the idempotency digest."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class MutationInput(Protocol):
    """A mutation's input: it may carry an idempotency key."""

    idempotency_key: str | None


def input_arguments(data: object) -> dict[str, Any]:
    """A mutation input as the idempotency digest sees it: everything but the key itself."""
    return {k: plain(v) for k, v in vars(data).items() if k != "idempotency_key"}


def parse_id(global_id: str, expected: str, field: str) -> str:
    """The raw id inside a global id of type `expected`, or a user error naming `field`."""
    return _as_user_error(ids.raw_id, global_id, expected, field)


def parse_uuid(global_id: str, expected: str, field: str) -> UUID:
    return _as_user_error(ids.uuid_id, global_id, expected, field)


def parse_object_id(global_id: str, expected: str, field: str) -> ObjectId:
    return _as_user_error(ids.object_id, global_id, expected, field)


def _as_user_error(decode: Callable[[str, str], T], global_id: str, expected: str, field: str) -> T:
    try:
        return decode(global_id, expected)
    except ids.InvalidId as exc:
        raise reject("INVALID_ID", exc.message, field) from None


@dataclass
class Outcome:
    """What a mutation produced: rows to rebuild the payload from, or user errors."""

    rows: dict[str, Any] = field(default_factory=dict)
    errors: list[UserError] = field(default_factory=list)

    def to_snapshot(self) -> dict[str, Any]:
        return {"rows": self.rows, "errors": [e.__dict__ for e in self.errors]}

    def built(self, key: str, build: Callable[[Any], T]) -> T | None:
        """The payload object stored under `key`, built into its GraphQL type (None when absent)."""
        row = self.rows.get(key)
        return build(row) if row is not None else None

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Outcome:
        return cls(rows=data["rows"], errors=[UserError(**e) for e in data["errors"]])


def typed(row_type: type[R], build: Callable[[R], T]) -> Callable[[Mapping[str, Any]], T]:
    """A payload builder for a stored row: the typed row first, then its GraphQL object."""
    as_row = row_of(row_type)
    return lambda record: build(as_row(record))


def _plain_row(value: Any) -> Any:
    # Stored responses hold plain mappings: typed rows and records alike.
    if is_row(value):
        return value._asdict()
    return dict(value.items()) if hasattr(value, "items") else value


# What a change logs: nothing (user errors), one action, or one per changed object.
Logged = ActionLogEntry | Sequence[ActionLogEntry] | None


def actor(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.principal
    return {"kind": p.kind, "id": p.subject, "email": p.email}


async def run_brain_mutation(
    info: Ctx,
    *,
    operation: str,
    permission: Permission,
    input: MutationInput,
    perform: Callable[[TenantConnection], Awaitable[tuple[Outcome, Logged]]],
    arguments: dict[str, Any] | None = None,
) -> Outcome:
    """Run one Brain mutation; `arguments` (default: the whole input) is what its idempotency digest covers.

    `perform` returns the outcome and what to log: one entry, or one per changed object
    (the first is the payload's `action_log`, all of them `action_logs`).
    """
    ctx = info.context
    idempotency_key = input.idempotency_key
    arguments = input_arguments(input) if arguments is None else arguments
    ctx.require(permission)
    org = ctx.principal.organization
    if org.brain_id is None:
        raise StoreUnavailable("postgres")
    services = ctx.services
    digest = idempotency.request_hash(operation, arguments)
    principal = idempotency.principal_key(ctx.principal)
    async with services.postgres.tenant_transaction(org.brain_id, org.enterprise_id) as tx:
        if idempotency_key is not None:
            stored = await idempotency.replay(tx, org.enterprise_id, principal, idempotency_key, operation, digest)
            if stored is not None:
                return Outcome.from_snapshot(stored)
        await tx.execute("SAVEPOINT mutation")
        try:
            outcome, logged = await perform(tx)
        except Rejected as rejected:
            await tx.execute("ROLLBACK TO SAVEPOINT mutation")
            outcome, logged = Outcome(errors=rejected.errors), None
        entries = [] if logged is None else [logged] if isinstance(logged, ActionLogEntry) else list(logged)
        if entries:
            await _log_actions(ctx, tx, outcome, entries, idempotency_key)
        outcome.rows = {k: _plain_row(v) for k, v in outcome.rows.items()}
        if idempotency_key is not None:
            await idempotency.remember(
                tx, org.enterprise_id, principal, idempotency_key, operation, digest, outcome.to_snapshot()
            )
    services.outbox.wake()
    await ctx.after_write()
    return outcome


async def _log_actions(
    ctx: RequestContext, tx: TenantConnection, outcome: Outcome, entries: list[ActionLogEntry], key: str | None
) -> None:
    """Each action's log row, subscription notice and audit event, written with the change."""
    org = ctx.principal.organization
    p = ctx.principal
    if len(entries) == 1:
        logs = [await action_logs.record(tx, p.kind, p.subject, entries[0], key)]
    else:
        logs = await action_logs.record_many(tx, p.kind, p.subject, entries, key)
        outcome.rows["action_logs"] = [_plain_row(log) for log in logs]
    outcome.rows["action_log"] = logs[0]
    sync_job = _plain_row(outcome.rows.get("sync_job"))
    # Sent with the transaction: subscribers hear of it on commit, never after a rollback.
    notices = [realtime.action_notice(org.enterprise_id, log, sync_job) for log in logs]
    events = [
        outbox.audit_event(
            organization_key=org.enterprise_id,
            actor=actor(ctx),
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details={"input": entry.payload, "result": entry.result},
            request_id=ctx.request_id,
        )
        for entry in entries
    ]
    if len(entries) == 1:
        await realtime.notify(tx, notices[0], tx.key)
        await outbox.enqueue(tx, events[0])
    else:
        await realtime.notify_all(tx, notices, tx.key)
        await outbox.enqueue_many(tx, events)
