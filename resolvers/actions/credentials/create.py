"""createCredential: a platform credential with a write-only secret."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from gateway.core.rules import credentials as rules
from gateway.core.vault import Vault
from gateway.data.brain import credentials
from gateway.data.brain.action_logs import ActionLogEntry
from gateway.stores.postgres import TenantConnection
from resolvers.actions.common import Ctx, IdempotencyKey, Outcome, run_brain_mutation
from resolvers.actions.credentials.common import (
    PERMISSION,
    ROLES,
    CredentialPayload,
    digest_arguments,
    payload,
    sealing_vault,
    vault_of,
)
from resolvers.brain.enums import ActionKind, ActionTargetType, Platform
from resolvers.common.enums import stored

SECRET_DESCRIPTION = (
    f"The secret (API key, token), {rules.MIN_SECRET} to {rules.MAX_SECRET:,} characters without control "
    "characters. Write-only: sealed at rest and never returned; send it as a variable, not inside the document."
)


@strawberry.input(description="A new platform credential.")
class CreateCredentialInput:
    platform: Platform = strawberry.field(description="The platform the credential is for.")
    secret: str = strawberry.field(description=SECRET_DESCRIPTION)
    idempotency_key: str | None = IdempotencyKey


async def _create(
    data: CreateCredentialInput, vault: Vault | None, tx: TenantConnection
) -> tuple[Outcome, ActionLogEntry | None]:
    sealer = sealing_vault(vault)
    secret = rules.secret(data.secret)
    platform = stored(data.platform)
    credential_id = credentials.new_id()
    hint = rules.key_hint(secret)
    row = await credentials.insert(tx, credential_id, platform, sealer.key_id, hint)
    sealed = sealer.seal(secret, tx.organization_id, credential_id, row.version)
    await credentials.add_secret(tx, credential_id, row.version, sealed, sealer.key_id)
    # Action logs are readable by every member: credential metadata (even the hint) stays out of them.
    log = ActionLogEntry(
        stored(ActionKind.CREATE_CREDENTIAL),
        stored(ActionTargetType.API_CREDENTIAL),
        str(row.id),
        {"platform": platform},
        {"version": 1},
    )
    return Outcome(rows={"credential": row}), log


async def create_credential(
    info: Ctx,
    input: Annotated[CreateCredentialInput, strawberry.argument(description="The platform and the secret.")],
) -> CredentialPayload:
    vault = vault_of(info)
    outcome = await run_brain_mutation(
        info,
        operation=stored(ActionKind.CREATE_CREDENTIAL),
        permission=PERMISSION,
        input=input,
        perform=partial(_create, input, vault),
        arguments=digest_arguments(input, vault),
    )
    return payload(outcome)


mutation = strawberry.mutation(
    resolver=create_credential,
    description="Store a platform credential. Its secret is write-only: sealed with AES-256-GCM, bound to this "
    f"credential, never returned; only `keyHint` (its last characters) is shown. {ROLES}",
)
