"""Enums of the enterprise store (MongoDB), and readers from the strings it stores."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.common.objects import enum_reader


@strawberry.enum(description="Billing plan of an organization.")
class Plan(Enum):
    STARTER = strawberry.enum_value("starter", description="Entry plan for small teams.")
    GROWTH = strawberry.enum_value("growth", description="Plan for growing teams.")
    ENTERPRISE = strawberry.enum_value("enterprise", description="Plan with compliance and AgentKit at scale.")


@strawberry.enum(description="Billing state of a subscription.")
class BillingSubscriptionStatus(Enum):
    TRIALING = strawberry.enum_value("trialing", description="In the free trial.")
    ACTIVE = strawberry.enum_value("active", description="Paid and current.")
    PAST_DUE = strawberry.enum_value("past_due", description="A payment failed; service continues for now.")
    CANCELED = strawberry.enum_value("canceled", description="Ended; no longer billed.")


@strawberry.enum(description="Lifecycle state of an AgentKit workflow.")
class WorkflowStatus(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being edited; does not run.")
    ACTIVE = strawberry.enum_value("active", description="Runs on demand and on its schedule.")
    ARCHIVED = strawberry.enum_value("archived", description="Retired; kept for its history.")


@strawberry.enum(description="Progress of one workflow execution.")
class WorkflowExecutionStatus(Enum):
    QUEUED = strawberry.enum_value("queued", description="Waiting for a worker.")
    RUNNING = strawberry.enum_value("running", description="Started, not finished.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Finished with an output.")
    FAILED = strawberry.enum_value("failed", description="Finished with an error.")
    CANCELLED = strawberry.enum_value("cancelled", description="Stopped by `cancelExecution` before it finished.")


@strawberry.enum(description="Compliance framework a control belongs to.")
class ComplianceFramework(Enum):
    SOC2 = strawberry.enum_value("SOC2", description="SOC 2 trust services criteria.")
    GDPR = strawberry.enum_value("GDPR", description="EU General Data Protection Regulation.")
    HIPAA = strawberry.enum_value("HIPAA", description="US Health Insurance Portability and Accountability Act.")


@strawberry.enum(description="Outcome of the latest compliance check of a control.")
class ComplianceCheckStatus(Enum):
    PASSING = strawberry.enum_value("passing", description="The control is met.")
    FAILING = strawberry.enum_value("failing", description="The control is not met; needs attention.")
    PENDING = strawberry.enum_value("pending", description="Not evaluated yet.")


@strawberry.enum(description="Granularity of an analytics series.")
class AnalyticsPeriod(Enum):
    DAY = strawberry.enum_value("day", description="One point per day.")
    WEEK = strawberry.enum_value("week", description="One point per week, dated on the week's first day.")
    MONTH = strawberry.enum_value("month", description="One point per month, dated on the month's first day.")


@strawberry.enum(description="A resource whose use is metered against a quota.")
class QuotaResource(Enum):
    API_CALLS = strawberry.enum_value("api_calls", description="Calls to the platform's API.")
    WORKFLOW_RUNS = strawberry.enum_value("workflow_runs", description="AgentKit workflow executions.")
    SEATS = strawberry.enum_value("seats", description="Members with an enterprise account.")


@strawberry.enum(description="Enterprise role an invitee gets on accepting an invitation.")
class InvitationRole(Enum):
    ADMIN = strawberry.enum_value("admin", description="Manages the team and workflows.")
    ANALYST = strawberry.enum_value("analyst", description="Reads the organization's data.")
    MEMBER = strawberry.enum_value("member", description="A member without management rights.")


@strawberry.enum(description="A role on the enterprise platform.")
class EnterpriseRole(Enum):
    OWNER = strawberry.enum_value("owner", description="Owns the organization: billing, team and all data.")
    ADMIN = strawberry.enum_value("admin", description="Manages the team and workflows.")
    ANALYST = strawberry.enum_value("analyst", description="Reads the organization's data.")
    MEMBER = strawberry.enum_value("member", description="A member without management rights.")


@strawberry.enum(description="A role in the Brain app.")
class BrainRole(Enum):
    OWNER = strawberry.enum_value("owner", description="Owns the Brain workspace.")
    ADMIN = strawberry.enum_value("admin", description="Manages the Brain workspace and its users.")
    MARKETER = strawberry.enum_value("marketer", description="Runs campaigns: budgets and creatives.")
    VIEWER = strawberry.enum_value("viewer", description="Reads campaigns and metrics.")


@strawberry.enum(description="What started a workflow run.")
class WorkflowTrigger(Enum):
    SCHEDULE = strawberry.enum_value("schedule", description="The workflow's schedule came due.")
    USER = strawberry.enum_value("user", description="A signed-in member ran it.")
    API = strawberry.enum_value("api", description="A partner integration ran it with a machine token.")


@strawberry.enum(description="State of a team invitation.")
class InvitationStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Sent, not answered yet.")
    ACCEPTED = strawberry.enum_value("accepted", description="The invitee joined.")
    REVOKED = strawberry.enum_value("revoked", description="Withdrawn by an admin.")
    EXPIRED = strawberry.enum_value("expired", description="Not accepted in time.")


@strawberry.enum(description="State of a member's enterprise account.")
class MemberStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Can sign in.")
    DISABLED = strawberry.enum_value("disabled", description="Turned off by an admin; cannot sign in.")


# Readers of stored values for objects built per document: one dict lookup each, not an enum call.
plan = enum_reader(Plan)
subscription_status = enum_reader(BillingSubscriptionStatus)
enterprise_role = enum_reader(EnterpriseRole)
brain_role = enum_reader(BrainRole)
invitation_role = enum_reader(InvitationRole)
invitation_status = enum_reader(InvitationStatus)
member_status = enum_reader(MemberStatus)
workflow_status = enum_reader(WorkflowStatus)
execution_status = enum_reader(WorkflowExecutionStatus)
workflow_trigger = enum_reader(WorkflowTrigger)
compliance_framework = enum_reader(ComplianceFramework)
compliance_status = enum_reader(ComplianceCheckStatus)
analytics_period = enum_reader(AnalyticsPeriod)
quota_resource = enum_reader(QuotaResource)
