"""pauseCreatives, resumeCreatives, pauseCampaigns: one status change over up to 500 objects at once.

One transaction and a handful of statements whatever the count: the objects are locked in id
order and read (one statement), the ones that change are updated (one), and their action
log rows, audit events and subscription notices are written (one each). Each id gets a
result. An id of another organization is reported `NOT_FOUND`, exactly as an id of nothing:
`FORBIDDEN` would tell a caller that the id exists elsewhere. Whether a caller may run the
action at all is decided for the whole call (the `FORBIDDEN` GraphQL error), never per id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry

from gateway.core.rules import Rejected, UserError, lifecycle, reject, text
from gateway.data import ids as global_ids
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.common import Logged, Outcome
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.common.enums import stored

MAX_IDS = 500
MAX_ID_ERRORS = 100
NOT_FOUND = "NOT_FOUND"


@strawberry.enum(description="What a bulk status action did to one of the ids it was given.")
class BulkActionOutcome(Enum):
    CHANGED = strawberry.enum_value("CHANGED", description="The object now has the status asked for.")
    UNCHANGED = strawberry.enum_value("UNCHANGED", description="The object had that status already.")
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="No such object in your organization (also for an id of another organization: which of the two "
        "it is, is not said).",
    )
    ARCHIVED = strawberry.enum_value(
        "ARCHIVED", description="The object is archived and can no longer change status; it was left as it is."
    )


@dataclass(frozen=True)
class Bulk:
    """One bulk status action: what it changes and how."""

    operation: ActionKind
    kind: ActionTargetType  # the objects' type, whose name their global ids carry
    field: str  # the input field holding the ids
    status: str
    lock: Callable[[TenantConnection, Sequence[UUID]], Awaitable[dict[UUID, Any]]]
    write: Callable[[TenantConnection, Sequence[UUID], str], Awaitable[Sequence[Any]]]


def parse_ids(given: Sequence[str], kind: str, field: str) -> list[UUID]:
    """The raw ids of a bulk action's global ids: all of them valid, distinct, 1 to 500."""
    if not given:
        raise reject("NO_IDS", "name at least one id", field)
    if len(given) > MAX_IDS:
        raise reject("TOO_MANY_IDS", f"at most {MAX_IDS} ids per call, not {len(given)}", field)
    raw: list[UUID] = []
    errors: list[UserError] = []
    seen: set[UUID] = set()
    for n, global_id in enumerate(given):
        try:
            value = global_ids.uuid_id(global_id, kind)
        except global_ids.InvalidId as exc:
            errors.append(UserError("INVALID_ID", exc.message, f"{field}[{n}]"))
            continue
        if value in seen:
            errors.append(UserError("DUPLICATE_ID", "this id is named earlier in the list", f"{field}[{n}]"))
        seen.add(value)
        raw.append(value)
    if errors:
        raise Rejected(*errors[:MAX_ID_ERRORS])
    return raw


async def perform(bulk: Bulk, given: Sequence[str], reason_text: str, tx: TenantConnection) -> tuple[Outcome, Logged]:
    raw = parse_ids(given, stored(bulk.kind), bulk.field)
    reason = text.reason(reason_text, required=True)
    locked = await bulk.lock(tx, raw)
    outcomes = {i: lifecycle.transition(row.status, bulk.status) for i, row in locked.items()}
    changing = sorted(i for i, outcome in outcomes.items() if outcome is lifecycle.Transition.CHANGED)
    after: dict[UUID, Any] = dict(locked)
    if changing:
        after.update((row.id, row) for row in await bulk.write(tx, changing, bulk.status))
    results = [
        {
            "id": global_id,
            "outcome": outcomes[i].value if i in outcomes else NOT_FOUND,
            "row": after[i]._asdict() if i in after else None,
        }
        for global_id, i in zip(given, raw, strict=True)
    ]
    logs = [
        ActionLogEntry(
            stored(bulk.operation),
            stored(bulk.kind),
            str(i),
            {"reason": reason, "count": len(raw)},
            {"from": locked[i].status, "to": bulk.status},
        )
        for i in changing
    ]
    return Outcome(rows={"results": results, "changed": len(changing)}), logs


def logs_by_target(rows: dict[str, Any]) -> dict[str, Any]:
    """The action log rows of a bulk outcome by target id (one, or one per changed object)."""
    logs = rows.get("action_logs") or ([rows["action_log"]] if rows.get("action_log") is not None else [])
    return {str(log["target_id"]): log for log in logs}


def outcome_of(result: dict[str, Any]) -> BulkActionOutcome:
    return BulkActionOutcome(result["outcome"])
