"""publishBrainState: a new version of one Brain module's output."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import brain_states as rules
from gateway.data.brain import brain_states
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.built import ACTION_LOG, BRAIN_STATE
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    IdempotencyKey,
    Outcome,
    run_brain_mutation,
    typed_errors,
)
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.brain.enums import ActionKind, ActionTargetType, BrainModule
from resolvers.brain.records import ActionLog, BrainState
from resolvers.common.enums import stored
from resolvers.common.scalars import JSON

# The codes the Brain state mutations may answer in `userErrors`; `typed_errors` refuses others.
BRAIN_STATE_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.INVALID_STATE,
    UserErrorCode.STATE_TOO_LARGE,
    UserErrorCode.INVALID_VERSION,
    UserErrorCode.STALE_VERSION,
)


@strawberry.type(description="Why a Brain state was not published. Nothing was changed.")
class BrainStateError(UserError):
    """Fields from `UserError`; the code is one of `BRAIN_STATE_CODES`."""


@strawberry.input(description="A Brain module's new output.")
class PublishBrainStateInput:
    module: BrainModule = strawberry.field(description="The module that computed it.")
    version: int = strawberry.field(
        description="Its version: above every version of this module published before (gaps are allowed)."
    )
    state: JSON = strawberry.field(description="The module's output, a JSON object.")
    idempotency_key: str | None = IdempotencyKey


@strawberry.type(description="Result of publishing a Brain state.")
class PublishBrainStatePayload:
    brain_state: BrainState | None = strawberry.field(description="The state as stored.")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the publication.")
    user_errors: list[BrainStateError] = strawberry.field(description=USER_ERRORS)


async def _publish(data: PublishBrainStateInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    module = stored(data.module)
    state = rules.state(data.state)
    newest = await brain_states.newest_version(tx, module)
    version = rules.next_version(data.version, newest)
    row = await brain_states.insert(tx, module, state, version)
    # The state itself stays in its table: the log and the audit trail say what was published, not all of it.
    log = ActionLogEntry(
        stored(ActionKind.PUBLISH_BRAIN_STATE),
        stored(ActionTargetType.BRAIN_STATE),
        str(row.id),
        {"module": module, "version": version},
        {"previousVersion": newest or None, "stateKeys": len(state)},
    )
    return Outcome(rows={"brain_state": row}), log


async def publish_brain_state(
    info: Ctx,
    input: Annotated[PublishBrainStateInput, strawberry.argument(description="The module, version and state.")],
) -> PublishBrainStatePayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.PUBLISH_BRAIN_STATE),
        permission=Permission.PUBLISH_BRAIN_STATE,
        input=input,
        perform=partial(_publish, input),
    )
    return PublishBrainStatePayload(
        brain_state=outcome.built("brain_state", BRAIN_STATE),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, BrainStateError, BRAIN_STATE_CODES),
    )


mutation = strawberry.mutation(
    resolver=publish_brain_state,
    description="Publish a Brain module's new output as its next version; subscribers of `brainStateUpdated` "
    "hear of it once it is committed. Needs a partner token with the `brain:write` scope (the brain-module "
    "service); no role grants it.",
)
