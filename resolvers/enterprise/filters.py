"""The enterprise lists' `filter:` inputs as data-access filters: the one place that converts them."""

from __future__ import annotations

from gateway.data import ids
from gateway.data.enterprise import agents, audit, compliance, executions, invitations, members, usage, workflows
from resolvers.common.enums import stored_values
from resolvers.common.filters import comparison, time_range
from resolvers.enterprise.lists import (
    AgentFilter,
    AuditLogFilter,
    ComplianceCheckFilter,
    InvitationFilter,
    MemberFilter,
    ScheduledWorkflowFilter,
    UsageQuotaFilter,
    WorkflowExecutionFilter,
    WorkflowFilter,
)


def execution_filter(value: WorkflowExecutionFilter | None) -> executions.Filter:
    """The data-access filter of a `filter:` argument: the runs of every workflow unless it names one."""
    if value is None:
        return executions.Filter()
    return executions.Filter(
        workflow_ids=None if value.workflow_id is None else (ids.raw_id(value.workflow_id, "Workflow"),),
        statuses=stored_values(value.status),
        triggers=stored_values(value.triggered_by),
        created=time_range(value.created_at),
        started=time_range(value.started_at),
        finished=time_range(value.finished_at),
    )


def member_filter(f: MemberFilter | None) -> members.Filter:
    f = f or MemberFilter()
    return members.Filter(
        email_contains=f.email_contains,
        name_contains=f.name_contains,
        enterprise_roles=stored_values(f.enterprise_role),
        brain_roles=stored_values(f.brain_role),
        statuses=stored_values(f.status),
        has_enterprise_account=f.has_enterprise_account,
        has_brain_account=f.has_brain_account,
        last_login=time_range(f.last_login_at),
    )


def invitation_filter(f: InvitationFilter | None) -> invitations.Filter:
    f = f or InvitationFilter()
    return invitations.Filter(
        statuses=stored_values(f.status),
        roles=stored_values(f.role),
        email_contains=f.email_contains,
        created=time_range(f.created_at),
        expires=time_range(f.expires_at),
    )


def agent_filter(f: AgentFilter | None) -> agents.Filter:
    f = f or AgentFilter()
    return agents.Filter(
        enabled=f.enabled,
        name_contains=f.name_contains,
        kinds=tuple(f.kind or ()),
        models=tuple(f.model or ()),
        created=time_range(f.created_at),
    )


def workflow_filter(f: WorkflowFilter | None) -> workflows.Filter:
    f = f or WorkflowFilter()
    return workflows.Filter(
        statuses=stored_values(f.status),
        name_contains=f.name_contains,
        version=comparison(f.version),
        created=time_range(f.created_at),
        updated=time_range(f.updated_at),
    )


def schedule_filter(f: ScheduledWorkflowFilter | None) -> workflows.ScheduleFilter:
    f = f or ScheduledWorkflowFilter()
    return workflows.ScheduleFilter(
        enabled=f.enabled,
        timezones=tuple(f.timezone or ()),
        next_run=time_range(f.next_run_at),
        last_run=time_range(f.last_run_at),
    )


def audit_filter(f: AuditLogFilter | None) -> audit.Filter:
    f = f or AuditLogFilter()
    return audit.Filter(
        actions=tuple(f.action or ()),
        actor_ids=tuple(f.actor_id or ()),
        actor_kinds=stored_values(f.actor_kind),
        target_types=tuple(f.target_type or ()),
        at=time_range(f.created_at),
    )


def compliance_filter(f: ComplianceCheckFilter | None) -> compliance.Filter:
    f = f or ComplianceCheckFilter()
    return compliance.Filter(
        frameworks=stored_values(f.framework),
        statuses=stored_values(f.status),
        control_contains=f.control_contains,
        checked=time_range(f.checked_at),
    )


def quota_filter(f: UsageQuotaFilter | None) -> usage.QuotaFilter:
    f = f or UsageQuotaFilter()
    return usage.QuotaFilter(
        resources=stored_values(f.resource),
        used=comparison(f.used),
        limit=comparison(f.limit),
        period_end=time_range(f.period_end),
    )
