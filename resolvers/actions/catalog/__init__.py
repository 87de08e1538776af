"""Catalog mutations (PostgreSQL): a partner's catalog sync by platform ids, and channel management.

`syncCatalog` upserts channels, campaigns and creatives keyed by their ids on
the ad platform (channels by account id) in one transaction through
`run_brain_mutation`: an optional idempotency key, one `action_logs` row and
one audit event. A batch is all or nothing, and its user errors name every
bad row, e.g. `creatives[17].headline`.
"""

from __future__ import annotations

import strawberry

from resolvers.actions.catalog import channels, sync


@strawberry.type
class CatalogMutations:
    sync_catalog = sync.sync
    connect_channel = channels.connect
    update_channel = channels.update
    disconnect_channel = channels.disconnect
