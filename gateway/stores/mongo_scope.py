"""Which MongoDB collections belong to an organization, and the error when request code reaches past its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ORG_SCOPED_COLLECTIONS = frozenset(
    {
        "users",
        "subscriptions",
        "agentkit_agents",
        "agentkit_workflows",
        "agentkit_executions",
        "scheduled_workflows",
        "audit_logs",
        "compliance_checks",
        "analytics_data",
        "usage_quotas",
        "team_invitations",
        "idempotency_keys",
    }
)


class UnscopedQuery(RuntimeError):
    """A programming error: request code tried to reach outside its organization."""


def check_org_scoped(collection: str) -> None:
    if collection not in ORG_SCOPED_COLLECTIONS:
        raise UnscopedQuery(f"collection {collection!r} is not organization-scoped")


def reject_org_change(update: Mapping[str, Any]) -> None:
    for operator, fields in update.items():
        if isinstance(fields, Mapping) and "organization_id" in fields:
            raise UnscopedQuery(f"an update may not change organization_id ({operator})")
