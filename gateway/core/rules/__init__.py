"""Business rules: plain functions over plain values that say whether a change may happen.

A rule that does not hold raises `Rejected` with a user error: a stable code (a member of
the acting domain's error-code enum, by name), a message and the input field at fault. The
schema turns these into its typed payload errors; nothing here knows of GraphQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class UserError:
    """Why a mutation did not apply, before it is typed for its domain's payload.

    `code` names a member of the domain's error-code enum (e.g. `BRAIN_ACTION_CODES`); each payload turns
    these into its domain's GraphQL error type, so clients can switch on the code from the schema.
    """

    code: str
    message: str
    field: str | None


class Rejected(Exception):
    """Raised inside a mutation to reject it with user errors; the change is rolled back."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__(errors[0].message if errors else "rejected")
        self.errors = list(errors)


def reject(code: str, message: str, field: str | None = None) -> Rejected:
    return Rejected(UserError(code=code, message=message, field=field))
