"""Partner ingestion: sync jobs and bulk daily metrics."""

from __future__ import annotations

import strawberry


@strawberry.type
class IngestionMutations:
    pass
