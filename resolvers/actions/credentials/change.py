"""rotateCredential, revokeCredential: a credential's secret replaced, or the credential withdrawn."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.rules import credentials as rules
from gateway.core.rules import reject
from gateway.core.vault import Vault
from gateway.data.brain import credentials
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.data.brain.credentials import CredentialRow
from gateway.stores.postgres import TenantConnection
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, parse_uuid, run_brain_mutation
from resolvers.actions.credentials.common import (
    PERMISSION,
    ROLES,
    CredentialPayload,
    digest_arguments,
    payload,
    sealing_vault,
    vault_of,
)
from resolvers.actions.credentials.create import SECRET_DESCRIPTION
from resolvers.brain.enums import ActionKind, ActionTargetType
from resolvers.common.enums import stored


@strawberry.input(description="A new secret for an active credential.")
class RotateCredentialInput:
    credential_id: strawberry.ID = strawberry.field(description="The credential.")
    secret: str = strawberry.field(description=SECRET_DESCRIPTION)
    idempotency_key: str | None = IdempotencyKey


@strawberry.input(description="Withdraw a credential.")
class RevokeCredentialInput:
    credential_id: strawberry.ID = strawberry.field(description="The credential.")
    idempotency_key: str | None = IdempotencyKey


async def _active(tx: TenantConnection, global_id: str) -> CredentialRow:
    credential_id = parse_uuid(global_id, stored(ActionTargetType.API_CREDENTIAL), "credentialId")
    current = await credentials.lock(tx, credential_id)
    if current is None:
        raise reject("NOT_FOUND", "no such credential in your organization", "credentialId")
    if current.status != "active":
        raise reject("REVOKED", f"the credential is {current.status}: it cannot change", "credentialId")
    return current


async def _rotate(
    data: RotateCredentialInput, vault: Vault | None, tx: TenantConnection
) -> tuple[Outcome, ActionLogEntry | None]:
    # The credential first: a foreign or unknown id is NOT_FOUND whatever else is wrong.
    current = await _active(tx, data.credential_id)
    secret = rules.secret(data.secret)
    sealer = sealing_vault(vault)
    hint = rules.key_hint(secret)
    version = current.version + 1
    await credentials.add_secret(
        tx, current.id, version, sealer.seal(secret, tx.organization_id, current.id, version), sealer.key_id
    )
    row = await credentials.rotated(tx, current.id, version, sealer.key_id, hint)
    log = ActionLogEntry(
        stored(ActionKind.ROTATE_CREDENTIAL),
        stored(ActionTargetType.API_CREDENTIAL),
        str(row.id),
        {},
        {"fromVersion": current.version, "toVersion": version},
    )
    return Outcome(rows={"credential": row}), log


async def _revoke(data: RevokeCredentialInput, tx: TenantConnection) -> tuple[Outcome, ActionLogEntry | None]:
    current = await _active(tx, data.credential_id)
    row = await credentials.revoke(tx, current.id)
    log = ActionLogEntry(
        stored(ActionKind.REVOKE_CREDENTIAL),
        stored(ActionTargetType.API_CREDENTIAL),
        str(row.id),
        {},
        {"from": "active", "to": "revoked"},
    )
    return Outcome(rows={"credential": row}), log


async def rotate_credential(
    info: Ctx,
    input: Annotated[RotateCredentialInput, strawberry.argument(description="The credential and its new secret.")],
) -> CredentialPayload:
    vault = vault_of(info)
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.ROTATE_CREDENTIAL),
        permission=PERMISSION,
        input=input,
        perform=partial(_rotate, input, vault),
        arguments=digest_arguments(input, vault),
    )
    return payload(outcome)


async def revoke_credential(
    info: Ctx, input: Annotated[RevokeCredentialInput, strawberry.argument(description="The credential.")]
) -> CredentialPayload:
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.REVOKE_CREDENTIAL),
        permission=PERMISSION,
        input=input,
        perform=partial(_revoke, input),
    )
    return payload(outcome)


rotate = strawberry.mutation(
    resolver=rotate_credential,
    description="Replace an active credential's secret: the new one is sealed as the next `version` and becomes "
    f"current, `rotatedAt` is now; earlier versions stay sealed and are never used again. {ROLES}",
)
revoke = strawberry.mutation(
    resolver=revoke_credential,
    description=f"Revoke an active credential: it can no longer be used or rotated. {ROLES}",
)
