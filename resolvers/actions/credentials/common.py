"""What the credential mutations share: error codes, the payload, the vault and the idempotency digest."""

from __future__ import annotations

from enum import Enum
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
from resolvers.actions.errors import UserError
from resolvers.brain.records import ActionLog, ApiCredential

PERMISSION = Permission.MANAGE_CREDENTIALS
ROLES = "Needs the admin or owner role."


@strawberry.enum(description="Why a credential change did not apply.")
class CredentialErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The credential does not exist in your organization.")
    SECRET_REQUIRED = strawberry.enum_value("SECRET_REQUIRED", description="The secret is missing or blank.")
    SECRET_TOO_SHORT = strawberry.enum_value("SECRET_TOO_SHORT", description="The secret is shorter than allowed.")
    SECRET_TOO_LONG = strawberry.enum_value("SECRET_TOO_LONG", description="The secret is longer than allowed.")
    SECRET_INVALID = strawberry.enum_value(
        "SECRET_INVALID", description="The secret contains control characters or line breaks."
    )
    REVOKED = strawberry.enum_value("REVOKED", description="The credential is revoked (or expired): it cannot change.")
    NOT_CONFIGURED = strawberry.enum_value(
        "NOT_CONFIGURED",
        description="The gateway has no key to seal secrets with (its operator has not set `OMNIFY_SECRET_KEY`).",
    )


@strawberry.type(description="Why a credential change did not apply. Nothing was changed.")
class CredentialError(UserError):
    """Fields from `UserError`; the code is one of `CredentialErrorCode`."""


@strawberry.type(description="Result of creating, rotating or revoking a credential. Never holds the secret.")
class CredentialPayload:
    credential: ApiCredential | None = strawberry.field(description="The credential after the change (metadata).")
    action_log: ActionLog | None = strawberry.field(description="The action log entry of the change.")
    user_errors: list[CredentialError] = strawberry.field(description=USER_ERRORS)


def payload(outcome: Outcome) -> CredentialPayload:
    return CredentialPayload(
        credential=outcome.built("credential", CREDENTIAL),
        action_log=outcome.built("action_log", ACTION_LOG),
        user_errors=typed_errors(outcome.errors, CredentialError, CredentialErrorCode),
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
