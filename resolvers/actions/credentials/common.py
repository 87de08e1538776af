"""What the credential mutations share: error codes, the payload, the vault and the idempotency digest."""

from __future__ import annotations

from typing import Any

import strawberry

from gateway.core.permissions import Permission
from gateway.core.rules import reject
from gateway.core.vault import Vault
from resolvers.actions.built import ACTION_LOG, CREDENTIAL
from resolvers.actions.common import (
    USER_ERRORS,
    Ctx,
    Outcome,
    input_arguments,
    typed_errors,
)
from resolvers.actions.errors import UserError, UserErrorCode, codes
from resolvers.brain.records import ActionLog, ApiCredential

PERMISSION = Permission.MANAGE_CREDENTIALS
ROLES = "Needs the admin or owner role."


# The codes the credential mutations may answer in `userErrors`; `typed_errors` refuses others.
CREDENTIAL_CODES = codes(
    UserErrorCode.INVALID_ID,
    UserErrorCode.NOT_FOUND,
    UserErrorCode.SECRET_REQUIRED,
    UserErrorCode.SECRET_TOO_SHORT,
    UserErrorCode.SECRET_TOO_LONG,
    UserErrorCode.SECRET_INVALID,
    UserErrorCode.REVOKED,
    UserErrorCode.NOT_CONFIGURED,
)


@strawberry.type(description="Why a credential change did not apply. Nothing was changed.")
class CredentialError(UserError):
    """Fields from `UserError`; the code is one of `CREDENTIAL_CODES`."""


@strawberry.type(description="Result of creating, rotating or revoking a credential. Never holds the secret.")
class CredentialPayload:
    credential: ApiCredential | None = strawberry.field(description="The credential after the change (metadata).")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[CredentialError] = strawberry.field(description=USER_ERRORS)


def payload(outcome: Outcome) -> CredentialPayload:
    return CredentialPayload(
        credential=outcome.built("credential", CREDENTIAL),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, CredentialError, CREDENTIAL_CODES),
    )


def vault_of(info: Ctx) -> Vault | None:
    key = info.context.settings.secret_key
    return Vault(key) if key is not None else None


def sealing_vault(vault: Vault | None) -> Vault:
    if vault is None:
        raise reject(
            "NOT_CONFIGURED", "credential secrets cannot be stored: the gateway has no secret key; ask its operator"
        )
    return vault


def digest_arguments(data: object, vault: Vault | None) -> dict[str, Any]:
    """The input as the idempotency digest covers it: the secret as a keyed digest, never as itself."""
    arguments = input_arguments(data)
    secret = arguments.get("secret")
    if isinstance(secret, str):
        arguments["secret"] = vault.fingerprint(secret) if vault is not None else None
    return arguments
