"""One audit event, as both stores record it: the PostgreSQL outbox (gateway.core.outbox) and the
MongoDB mutations that carry theirs on the changed document (gateway.core.mongo_mutations)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any


def audit_event(
    *,
    organization_key: str,
    actor: dict[str, Any],
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
    request_id: str | None,
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "organization_id": organization_key,
        "actor": actor,
        "action": action,
        "target": {"type": target_type, "id": target_id},
        "details": details,
        "request_id": request_id,
        "at": dt.datetime.now(dt.UTC),
    }
