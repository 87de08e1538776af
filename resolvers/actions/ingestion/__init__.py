"""Partner ingestion: sync jobs and bulk daily metrics.

A partner (a client-credentials token with the `metrics:write` scope, or an
admin/owner) opens a sync job, sends daily metrics in batches of up to
10,000 rows, and closes the job. Every call goes through
`run_brain_mutation`: one transaction, an optional idempotency key, one
`action_logs` row and one audit event.

A batch is all or nothing: one bad row rejects the whole call and nothing is
written. The user errors then name every bad row (up to
`MAX_REPORTED_ERRORS`, in row order, one error per row: its first bad
attribute), so a partner can fix a batch in one round trip.
"""

from __future__ import annotations

import strawberry

from resolvers.actions.ingestion import metrics, queue, sync_jobs


@strawberry.type
class IngestionMutations:
    request_sync = queue.request
    start_sync_job = sync_jobs.start
    ingest_daily_metrics = metrics.ingest
    finish_sync_job = sync_jobs.finish
