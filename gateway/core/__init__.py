"""The runtime core: request context, identity and permissions, tenancy, settings, idempotency, audit, events, limits, metrics."""
