"""The `filter:` and `orderBy:` inputs of the Brain store's records (brain states, credentials, sync jobs,
action logs), and their conversion to data-access values; the same conventions as `resolvers.brain.lists`."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.data.brain import (
    action_logs,
    brain_states,
    credentials,
    sync_jobs,
)
from resolvers.brain.enums import (
    ActionKind,
    ActionLogStatus,
    ActionTargetType,
    ApiCredentialStatus,
    BrainModule,
    Platform,
    SyncJobStatus,
)
from resolvers.brain.lists import DIRECTION_DESCRIPTION
from resolvers.common.enums import ActorKind, stored_values
from resolvers.common.filters import (
    DateTimeRange,
    IntComparison,
    OrderDirection,
    comparison,
    time_range,
)


@strawberry.input(description="Narrows the history of Brain module outputs.")
class BrainStateFilter:
    module: list[BrainModule] | None = strawberry.field(default=None, description="Only these modules.")
    computed_at: DateTimeRange | None = strawberry.field(default=None, description="Only outputs computed then.")
    version: IntComparison | None = strawberry.field(default=None, description="Only versions within these bounds.")


@strawberry.enum(description="What to sort Brain module outputs by.")
class BrainStateOrderField(Enum):
    COMPUTED_AT = strawberry.enum_value("computed_at", description="By computation time.")
    MODULE = strawberry.enum_value("module", description="By module.")
    VERSION = strawberry.enum_value("version", description="By version.")


@strawberry.input(description="One key of the order of Brain module outputs.")
class BrainStateOrder:
    field: BrainStateOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def brain_state_filter(flt: BrainStateFilter | None) -> brain_states.BrainStateFilter:
    flt = flt or BrainStateFilter()
    return brain_states.BrainStateFilter(
        modules=stored_values(flt.module),
        computed_at=time_range(flt.computed_at),
        version=comparison(flt.version),
    )


# --- credentials ------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of stored credentials.")
class ApiCredentialFilter:
    platform: list[Platform] | None = strawberry.field(default=None, description="Only these platforms.")
    status: list[ApiCredentialStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only credentials stored then.")
    last_used_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only credentials last used then (none never used)."
    )


@strawberry.enum(description="What to sort stored credentials by.")
class ApiCredentialOrderField(Enum):
    PLATFORM = strawberry.enum_value("platform", description="By platform.")
    STATUS = strawberry.enum_value("status", description="By status.")
    CREATED_AT = strawberry.enum_value("created_at", description="By time stored.")
    LAST_USED_AT = strawberry.enum_value("last_used_at", description="By last use (never used last).")


@strawberry.input(description="One key of the order of stored credentials.")
class ApiCredentialOrder:
    field: ApiCredentialOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def credential_filter(flt: ApiCredentialFilter | None) -> credentials.CredentialFilter:
    flt = flt or ApiCredentialFilter()
    return credentials.CredentialFilter(
        platforms=stored_values(flt.platform),
        statuses=stored_values(flt.status),
        created_at=time_range(flt.created_at),
        last_used_at=time_range(flt.last_used_at),
    )


# --- sync jobs --------------------------------------------------------------------------------


@strawberry.input(description="Narrows a list of sync jobs.")
class SyncJobFilter:
    status: list[SyncJobStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    platform: list[Platform] | None = strawberry.field(default=None, description="Only these platforms.")
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only jobs queued then.")
    started_at: DateTimeRange | None = strawberry.field(default=None, description="Only jobs started then.")
    finished_at: DateTimeRange | None = strawberry.field(default=None, description="Only jobs finished then.")
    records_synced: IntComparison | None = strawberry.field(
        default=None, description="Only jobs that wrote a number of records within these bounds."
    )


@strawberry.enum(description="What to sort sync jobs by.")
class SyncJobOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="By time queued.")
    STARTED_AT = strawberry.enum_value("started_at", description="By start (not started last).")
    FINISHED_AT = strawberry.enum_value("finished_at", description="By finish (unfinished last).")
    STATUS = strawberry.enum_value("status", description="By status.")
    PLATFORM = strawberry.enum_value("platform", description="By platform.")
    RECORDS_SYNCED = strawberry.enum_value("records_synced", description="By records written.")


@strawberry.input(description="One key of the order of sync jobs.")
class SyncJobOrder:
    field: SyncJobOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def sync_job_filter(flt: SyncJobFilter | None) -> sync_jobs.SyncJobFilter:
    flt = flt or SyncJobFilter()
    return sync_jobs.SyncJobFilter(
        statuses=stored_values(flt.status),
        platforms=stored_values(flt.platform),
        created_at=time_range(flt.created_at),
        started_at=time_range(flt.started_at),
        finished_at=time_range(flt.finished_at),
        records_synced=comparison(flt.records_synced),
    )


# --- action logs ------------------------------------------------------------------------------


@strawberry.input(description="Narrows the log of Brain actions.")
class ActionLogFilter:
    action: list[ActionKind] | None = strawberry.field(default=None, description="Only these actions.")
    target_type: list[ActionTargetType] | None = strawberry.field(default=None, description="Only these target types.")
    status: list[ActionLogStatus] | None = strawberry.field(default=None, description="Only these outcomes.")
    actor_kind: list[ActorKind] | None = strawberry.field(default=None, description="Only actions of these actors.")
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only actions run then.")


@strawberry.enum(description="What to sort logged actions by.")
class ActionLogOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="By time run.")
    ACTION = strawberry.enum_value("action", description="By action name.")
    STATUS = strawberry.enum_value("status", description="By outcome.")


@strawberry.input(description="One key of the order of logged actions.")
class ActionLogOrder:
    field: ActionLogOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description=DIRECTION_DESCRIPTION)


def action_log_filter(flt: ActionLogFilter | None) -> action_logs.ActionLogFilter:
    flt = flt or ActionLogFilter()
    return action_logs.ActionLogFilter(
        actions=stored_values(flt.action),
        target_types=stored_values(flt.target_type),
        statuses=stored_values(flt.status),
        actor_kinds=stored_values(flt.actor_kind),
        created_at=time_range(flt.created_at),
    )
