"""The `filter:` and `orderBy:` inputs of the enterprise store's lists (`filters` converts them).

Every list takes `filter:` (every part given must hold) and `orderBy:` (sort keys, most
significant first, the id appended as the last tie-break).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from resolvers.common.enums import ActorKind
from resolvers.common.filters import DateTimeRange, IntComparison, OrderDirection
from resolvers.enterprise.enums import (
    BrainRole,
    ComplianceCheckStatus,
    ComplianceFramework,
    EnterpriseRole,
    InvitationRole,
    InvitationStatus,
    MemberStatus,
    QuotaResource,
    WorkflowExecutionStatus,
    WorkflowStatus,
    WorkflowTrigger,
)


@strawberry.input(description="Narrows a list of workflow executions; every part given must hold.")
class WorkflowExecutionFilter:
    status: list[WorkflowExecutionStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    triggered_by: list[WorkflowTrigger] | None = strawberry.field(
        default=None, description="Only runs started this way."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only runs queued in this range.")
    started_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only runs started in this range (never runs still queued)."
    )
    finished_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only runs finished in this range (never runs not finished)."
    )
    workflow_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only runs of this workflow (in a workflow's own `executions`, another workflow matches nothing).",
    )


@strawberry.enum(description="What to sort workflow executions by.")
class WorkflowExecutionOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="When the run was queued.")
    STARTED_AT = strawberry.enum_value("started_at", description="When the run started; runs still queued first.")
    FINISHED_AT = strawberry.enum_value("finished_at", description="When the run ended; runs not finished first.")
    STATUS = strawberry.enum_value("status", description="By status name.")


@strawberry.input(description="One key of the order of workflow executions.")
class WorkflowExecutionOrder:
    field: WorkflowExecutionOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


ExecutionOrderBy = Annotated[
    list[WorkflowExecutionOrder] | None,
    strawberry.argument(
        description="Sort keys, most significant first; ties are broken by id. Default: newest first "
        "(`[{field: CREATED_AT, direction: DESC}]`)."
    ),
]


def order_by(default: str) -> str:
    """The description of an `orderBy:` argument whose default order is `default`."""
    return f"Sort keys, most significant first; ties are broken by id. Default: {default}."


@strawberry.input(description="Narrows a list of members; every part given must hold.")
class MemberFilter:
    email_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the e-mail address, taken literally."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the display name, taken literally."
    )
    enterprise_role: list[EnterpriseRole] | None = strawberry.field(
        default=None, description="Only members holding any of these enterprise roles."
    )
    brain_role: list[BrainRole] | None = strawberry.field(
        default=None, description="Only members with one of these Brain roles."
    )
    status: list[MemberStatus] | None = strawberry.field(
        default=None, description="Only members whose enterprise account has one of these statuses."
    )
    has_enterprise_account: bool | None = strawberry.field(
        default=None, description="Only members with (true) or without (false) an enterprise account."
    )
    has_brain_account: bool | None = strawberry.field(
        default=None,
        description="Only members with (true) or without (false) a Brain account; while the Brain store cannot be "
        "asked, no member matches.",
    )
    last_login_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only members whose last enterprise sign-in is in this range."
    )


@strawberry.enum(description="What to sort members by.")
class MemberOrderField(Enum):
    EMAIL = strawberry.enum_value("email", description="By e-mail address.")
    NAME = strawberry.enum_value("name", description="By display name; members without one first.")
    ROLE = strawberry.enum_value(
        "role",
        description="By most privileged enterprise role (OWNER, ADMIN, ANALYST, MEMBER); "
        "members without an enterprise account first.",
    )
    LAST_LOGIN_AT = strawberry.enum_value(
        "last_login_at", description="By last enterprise sign-in; members who never signed in first."
    )


@strawberry.input(description="One key of the order of members.")
class MemberOrder:
    field: MemberOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of invitations; every part given must hold.")
class InvitationFilter:
    status: list[InvitationStatus] | None = strawberry.field(
        default=None, description="Only these statuses (`EXPIRED` includes pending invitations past `expiresAt`)."
    )
    role: list[InvitationRole] | None = strawberry.field(default=None, description="Only invitations to these roles.")
    email_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the address, taken literally."
    )
    created_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only invitations sent in this range."
    )
    expires_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only invitations expiring in this range."
    )


@strawberry.enum(description="What to sort invitations by.")
class InvitationOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="When the invitation was sent.")
    EXPIRES_AT = strawberry.enum_value("expires_at", description="When the invitation stops being accepted.")
    EMAIL = strawberry.enum_value("email", description="By address.")
    ROLE = strawberry.enum_value("role", description="By role name.")


@strawberry.input(description="One key of the order of invitations.")
class InvitationOrder:
    field: InvitationOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of agents; every part given must hold.")
class AgentFilter:
    enabled: bool | None = strawberry.field(default=None, description="Only enabled (true) or disabled (false) agents.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally."
    )
    kind: list[str] | None = strawberry.field(default=None, description="Only these kinds, e.g. `optimizer`.")
    model: list[str] | None = strawberry.field(default=None, description="Only agents on these models, e.g. `gpt-4o`.")
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only agents created in this range.")


@strawberry.enum(description="What to sort agents by.")
class AgentOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    CREATED_AT = strawberry.enum_value("created_at", description="When the agent was created.")
    KIND = strawberry.enum_value("kind", description="By kind.")


@strawberry.input(description="One key of the order of agents.")
class AgentOrder:
    field: AgentOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of workflows; every part given must hold.")
class WorkflowFilter:
    status: list[WorkflowStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, taken literally."
    )
    version: IntComparison | None = strawberry.field(default=None, description="Bounds on the revision number.")
    created_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only workflows created in this range."
    )
    updated_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only workflows last edited in this range."
    )


@strawberry.enum(description="What to sort workflows by.")
class WorkflowOrderField(Enum):
    NAME = strawberry.enum_value("name", description="By name.")
    CREATED_AT = strawberry.enum_value("created_at", description="When the workflow was created.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="When the workflow was last edited.")
    STATUS = strawberry.enum_value("status", description="By status name.")
    VERSION = strawberry.enum_value("version", description="By revision number.")


@strawberry.input(description="One key of the order of workflows.")
class WorkflowOrder:
    field: WorkflowOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of workflow schedules; every part given must hold.")
class ScheduledWorkflowFilter:
    enabled: bool | None = strawberry.field(default=None, description="Only running (true) or paused (false) ones.")
    timezone: list[str] | None = strawberry.field(default=None, description="Only these time zones, e.g. `UTC`.")
    next_run_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only schedules next running in this range."
    )
    last_run_at: DateTimeRange | None = strawberry.field(
        default=None, description="Only schedules that last ran in this range."
    )


@strawberry.enum(description="What to sort workflow schedules by.")
class ScheduledWorkflowOrderField(Enum):
    NEXT_RUN_AT = strawberry.enum_value("next_run_at", description="When the workflow runs next; paused first.")
    LAST_RUN_AT = strawberry.enum_value("last_run_at", description="When the schedule last ran; never-run first.")
    TIMEZONE = strawberry.enum_value("timezone", description="By time zone name.")


@strawberry.input(description="One key of the order of workflow schedules.")
class ScheduledWorkflowOrder:
    field: ScheduledWorkflowOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows the audit trail; every part given must hold.")
class AuditLogFilter:
    action: list[str] | None = strawberry.field(default=None, description="Only these actions, e.g. `workflow.run`.")
    actor_id: list[str] | None = strawberry.field(
        default=None, description="Only actions by these actors (their `actor.id`)."
    )
    actor_kind: list[ActorKind] | None = strawberry.field(
        default=None, description="Only actions by these kinds of actor."
    )
    target_type: list[str] | None = strawberry.field(
        default=None, description="Only actions on these kinds of object, e.g. `Campaign`."
    )
    created_at: DateTimeRange | None = strawberry.field(default=None, description="Only entries in this range.")


@strawberry.enum(description="What to sort audit entries by.")
class AuditLogOrderField(Enum):
    CREATED_AT = strawberry.enum_value("at", description="When it happened.")
    ACTION = strawberry.enum_value("action", description="By action name.")


@strawberry.input(description="One key of the order of audit entries.")
class AuditLogOrder:
    field: AuditLogOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows the usage quotas; every part given must hold.")
class UsageQuotaFilter:
    resource: list[QuotaResource] | None = strawberry.field(default=None, description="Only these resources.")
    used: IntComparison | None = strawberry.field(default=None, description="Bounds on the use so far.")
    limit: IntComparison | None = strawberry.field(default=None, description="Bounds on the allowed use.")
    period_end: DateTimeRange | None = strawberry.field(
        default=None, description="Only quotas whose period ends in this range."
    )


@strawberry.enum(description="What to sort usage quotas by.")
class UsageQuotaOrderField(Enum):
    PERIOD_END = strawberry.enum_value("period_end", description="When the quota period ends.")
    RESOURCE = strawberry.enum_value("resource", description="By resource name.")
    USED = strawberry.enum_value("used", description="By use so far.")
    LIMIT = strawberry.enum_value("limit", description="By allowed use.")


@strawberry.input(description="One key of the order of usage quotas.")
class UsageQuotaOrder:
    field: UsageQuotaOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


@strawberry.input(description="Narrows a list of compliance checks; every part given must hold.")
class ComplianceCheckFilter:
    framework: list[ComplianceFramework] | None = strawberry.field(default=None, description="Only these frameworks.")
    status: list[ComplianceCheckStatus] | None = strawberry.field(default=None, description="Only these outcomes.")
    control_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the control's reference, taken literally."
    )
    checked_at: DateTimeRange | None = strawberry.field(default=None, description="Only checks run in this range.")


@strawberry.enum(description="What to sort compliance checks by.")
class ComplianceCheckOrderField(Enum):
    FRAMEWORK = strawberry.enum_value("framework", description="By framework name.")
    CONTROL = strawberry.enum_value("control", description="By the control's reference.")
    STATUS = strawberry.enum_value("status", description="By outcome name.")
    CHECKED_AT = strawberry.enum_value("checked_at", description="When the check ran.")


@strawberry.input(description="One key of the order of compliance checks.")
class ComplianceCheckOrder:
    field: ComplianceCheckOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")
