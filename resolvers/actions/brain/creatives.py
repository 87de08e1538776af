"""pauseCreative, resumeCreative, archiveCreative: a creative's delivery status."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import lifecycle, reject, text
from gateway.data.brain import creatives
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.brain.common import BRAIN_ACTION_CODES, BrainActionError
from resolvers.actions.built import ACTION_LOG, CREATIVE
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    parse_uuid,
    run_brain_mutation,
    typed_errors,
)
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.brain.records import ActionLog
from resolvers.brain.types import Creative
from resolvers.common.enums import stored

PERMISSION = Permission.RUN_ACTIONS


@strawberry.input(description="Pause, resume or archive one creative.")
class CreativeStatusInput:
    creative_id: strawberry.ID = strawberry.field(description="The creative.")
    reason: str = strawberry.field(description="Why (kept in the action log and the audit trail).")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of pausing, resuming or archiving a creative.")
class CreativeStatusPayload:
    creative: Creative | None = strawberry.field(description="The creative after the change.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[BrainActionError] = strawberry.field(description=USER_ERRORS)


async def _set_status(
    data: CreativeStatusInput, kind: ActionKind, status: str, tx: TenantConnection
) -> tuple[Outcome, ActionLogEntry | None]:
    creative_id = parse_uuid(data.creative_id, "Creative", "creativeId")
    reason = text.reason(data.reason, required=True)
    current = await creatives.lock(tx, creative_id)
    if current is None:
        raise reject("NOT_FOUND", "no such creative in your organization", "creativeId")
    lifecycle.check_transition("CREATIVE", current.status, status, "creativeId")
    updated = await creatives.set_status(tx, creative_id, status)
    log = ActionLogEntry(
        stored(kind),
        stored(ActionTargetType.CREATIVE),
        str(creative_id),
        {"reason": reason},
        {"from": current.status, "to": status},
    )
    return Outcome(rows={"creative": updated}), log


async def _run(info: Ctx, data: CreativeStatusInput, kind: ActionKind, status: str) -> CreativeStatusPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(kind),
        permission=PERMISSION,
        input=data,
        perform=partial(_set_status, data, kind, status),
    )
    return CreativeStatusPayload(
        creative=outcome.built("creative", CREATIVE),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainActionError, BRAIN_ACTION_CODES),
    )


async def pause_creative(
    info: Ctx, input: Annotated[CreativeStatusInput, strawberry.argument(description="The creative and why.")]
) -> CreativeStatusPayload:
    return await _run(info, input, ActionKind.PAUSE_CREATIVE, "paused")


async def resume_creative(
    info: Ctx, input: Annotated[CreativeStatusInput, strawberry.argument(description="The creative and why.")]
) -> CreativeStatusPayload:
    return await _run(info, input, ActionKind.RESUME_CREATIVE, "active")


async def archive_creative(
    info: Ctx, input: Annotated[CreativeStatusInput, strawberry.argument(description="The creative and why.")]
) -> CreativeStatusPayload:
    return await _run(info, input, ActionKind.ARCHIVE_CREATIVE, "archived")


pause = strawberry.mutation(
    resolver=pause_creative,
    description="Pause a creative. Needs the marketer, admin or owner role, or the `actions:write` scope.",
)
resume = strawberry.mutation(
    resolver=resume_creative,
    description="Resume a paused creative. Needs the marketer, admin or owner role, or the `actions:write` scope.",
)
archive = strawberry.mutation(
    resolver=archive_creative,
    description="Archive a creative for good: it stops delivering and can never be paused or resumed again. "
    "Needs the marketer, admin or owner role, or the `actions:write` scope.",
)
