"""Credential mutations (PostgreSQL): create, rotate and revoke a platform credential.

The secret is write-only. It is sealed (gateway/core/vault.py) before it reaches
the database, stored as a new row per version (never rewritten) and never read back: no field returns it, and what the
mutations keep (action log, audit event, idempotent response, idempotency
digest) holds neither it nor its hint, only a keyed digest of it for the idempotency check.
"""

from __future__ import annotations

import strawberry

from resolvers.actions.credentials import change, create


@strawberry.type
class CredentialMutations:
    create_credential = create.mutation
    rotate_credential = change.rotate
    revoke_credential = change.revoke
