"""The one vocabulary of user errors: the `UserError` interface and its `UserErrorCode` enum.

Every payload error type implements `UserError` by subclassing it (see `TeamError`); its code
is a member of `UserErrorCode`, whatever the domain. A domain's own code enum (e.g.
`BRAIN_ACTION_CODES`) lists which of these codes its mutations may return; `typed_errors`
refuses any other, and tests/test_user_errors.py fails when a domain code is missing here.
"""

from __future__ import annotations

from enum import Enum

import strawberry

ERROR_MESSAGE = "Human-readable explanation; wording may change, switch on `code` instead."
ERROR_FIELD = "The input field at fault, e.g. `rows[17].clicks`; null when no single field is."


@strawberry.enum(description="Why a mutation did not apply: one vocabulary for every payload's user errors.")
class UserErrorCode(Enum):
    INVALID_ID = strawberry.enum_value("INVALID_ID", description="An id is malformed or names another type.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The object does not exist in your organization.")
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT", description="The input combines or omits arguments in a way that is not allowed."
    )
    VERSION_CONFLICT = strawberry.enum_value(
        "VERSION_CONFLICT",
        description="The object is no longer at `expectedVersion`: read it again (the message names its current "
        "version) and retry on that.",
    )
    NOTHING_TO_UPDATE = strawberry.enum_value("NOTHING_TO_UPDATE", description="The update changes nothing.")
    QUOTA_EXCEEDED = strawberry.enum_value(
        "QUOTA_EXCEEDED",
        description="A limit of the organization's plan is used up (seats for invitations, runs for workflows).",
    )
    # Brain actions
    REASON_REQUIRED = strawberry.enum_value("REASON_REQUIRED", description="The reason is missing or blank.")
    REASON_TOO_LONG = strawberry.enum_value("REASON_TOO_LONG", description="The reason is longer than allowed.")
    INVALID_AMOUNT = strawberry.enum_value(
        "INVALID_AMOUNT",
        description="An amount is negative (or zero where it must be positive), or a result would exceed the maximum.",
    )
    CREATIVE_ARCHIVED = strawberry.enum_value(
        "CREATIVE_ARCHIVED", description="Archived creatives cannot change status."
    )
    ALREADY_ACTIVE = strawberry.enum_value("ALREADY_ACTIVE", description="The creative is already active.")
    ALREADY_PAUSED = strawberry.enum_value("ALREADY_PAUSED", description="The creative is already paused.")
    CAMPAIGN_ARCHIVED = strawberry.enum_value(
        "CAMPAIGN_ARCHIVED", description="Archived campaigns cannot change budget."
    )
    SAME_CAMPAIGN = strawberry.enum_value("SAME_CAMPAIGN", description="A budget shift needs two different campaigns.")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "CURRENCY_MISMATCH", description="The two campaigns budget in different currencies."
    )
    INSUFFICIENT_BUDGET = strawberry.enum_value(
        "INSUFFICIENT_BUDGET", description="The source campaign has less budget than the amount to shift."
    )
    # Ingestion
    NOT_RUNNING = strawberry.enum_value("NOT_RUNNING", description="The sync job is not running any more.")
    ERROR_REQUIRED = strawberry.enum_value("ERROR_REQUIRED", description="A failed job needs an error message.")
    ERROR_NOT_ALLOWED = strawberry.enum_value("ERROR_NOT_ALLOWED", description="A succeeded job has no error message.")
    ERROR_TOO_LONG = strawberry.enum_value("ERROR_TOO_LONG", description="The error message is longer than allowed.")
    PLATFORM_MISMATCH = strawberry.enum_value(
        "PLATFORM_MISMATCH", description="The row's campaign is on another platform than the sync job's channel."
    )
    CAMPAIGN_MISMATCH = strawberry.enum_value(
        "CAMPAIGN_MISMATCH", description="The creative does not belong to the row's campaign."
    )
    FUTURE_DATE = strawberry.enum_value("FUTURE_DATE", description="The row's date is after today (UTC).")
    DATE_TOO_EARLY = strawberry.enum_value("DATE_TOO_EARLY", description="The row's date is before 2000-01-01.")
    DUPLICATE_ROW = strawberry.enum_value("DUPLICATE_ROW", description="Two rows have the same creative and date.")
    NEGATIVE_COUNT = strawberry.enum_value("NEGATIVE_COUNT", description="A count is negative.")
    CLICKS_EXCEED_IMPRESSIONS = strawberry.enum_value(
        "CLICKS_EXCEED_IMPRESSIONS", description="A row has more clicks than impressions."
    )
    NO_ROWS = strawberry.enum_value("NO_ROWS", description="The batch is empty.")
    TOO_MANY_ROWS = strawberry.enum_value(
        "TOO_MANY_ROWS", description="The batch has more rows than one call may send."
    )
    TOO_MANY_RECORDS = strawberry.enum_value(
        "TOO_MANY_RECORDS", description="The sync job cannot count more records; start a new job."
    )
    # Team
    INVALID_EMAIL = strawberry.enum_value("INVALID_EMAIL", description="The e-mail address is malformed.")
    ALREADY_MEMBER = strawberry.enum_value("ALREADY_MEMBER", description="The person is already a member.")
    EMAIL_IN_USE = strawberry.enum_value(
        "EMAIL_IN_USE", description="The e-mail address has an account in another organization."
    )
    INVITATION_PENDING = strawberry.enum_value(
        "INVITATION_PENDING", description="The person already has a pending invitation."
    )
    NOT_PENDING = strawberry.enum_value(
        "NOT_PENDING", description="The invitation was already accepted, revoked or answered meanwhile."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="The invitation has expired.")
    # Workflows
    INVALID_NAME = strawberry.enum_value("INVALID_NAME", description="The name is empty or too long.")
    INVALID_DESCRIPTION = strawberry.enum_value("INVALID_DESCRIPTION", description="The description is too long.")
    INVALID_JSON = strawberry.enum_value(
        "INVALID_JSON", description="A JSON value is not an object, too deep, too large or has forbidden keys."
    )
    INVALID_STEPS = strawberry.enum_value("INVALID_STEPS", description="The workflow has no steps or too many.")
    INVALID_ACTION = strawberry.enum_value("INVALID_ACTION", description="A step's action is empty or too long.")
    INVALID_CRON = strawberry.enum_value(
        "INVALID_CRON", description="The schedule is not a five-field cron expression."
    )
    INVALID_TIMEZONE = strawberry.enum_value(
        "INVALID_TIMEZONE", description="The time zone is not an IANA time zone name."
    )
    WORKFLOW_ARCHIVED = strawberry.enum_value("WORKFLOW_ARCHIVED", description="Archived workflows cannot change.")
    WORKFLOW_NOT_ACTIVE = strawberry.enum_value("WORKFLOW_NOT_ACTIVE", description="Only active workflows run.")
    # Credentials
    SECRET_REQUIRED = strawberry.enum_value("SECRET_REQUIRED", description="The secret is missing or blank.")
    SECRET_TOO_SHORT = strawberry.enum_value("SECRET_TOO_SHORT", description="The secret is shorter than allowed.")
    SECRET_TOO_LONG = strawberry.enum_value("SECRET_TOO_LONG", description="The secret is longer than allowed.")
    SECRET_INVALID = strawberry.enum_value(
        "SECRET_INVALID", description="The secret contains control characters or line breaks."
    )
    REVOKED = strawberry.enum_value("REVOKED", description="The credential is revoked (or expired): it cannot change.")
    NOT_CONFIGURED = strawberry.enum_value(
        "NOT_CONFIGURED",
        description="The gateway has no key to seal secrets with (its operator has not set `OMNIFY_SECRET_KEY`).",
    )
    # Brain states
    INVALID_STATE = strawberry.enum_value("INVALID_STATE", description="The state is not a JSON object, or too deep.")
    STATE_TOO_LARGE = strawberry.enum_value("STATE_TOO_LARGE", description="The state is larger than allowed.")
    INVALID_VERSION = strawberry.enum_value("INVALID_VERSION", description="The version is not a positive integer.")
    STALE_VERSION = strawberry.enum_value(
        "STALE_VERSION",
        description="The version is not above the module's newest published one (a duplicate or an older one).",
    )
    # Agents
    INVALID_KIND = strawberry.enum_value("INVALID_KIND", description="The kind is empty or too long.")
    INVALID_MODEL = strawberry.enum_value("INVALID_MODEL", description="The model is empty or too long.")
    # Team
    SELF_PROMOTION = strawberry.enum_value("SELF_PROMOTION", description="Nobody may raise their own role.")
    OWNER_REQUIRED = strawberry.enum_value(
        "OWNER_REQUIRED", description="Only an owner grants the owner role, or demotes or removes an owner."
    )
    LAST_OWNER = strawberry.enum_value(
        "LAST_OWNER", description="The organization's last owner can be neither demoted nor removed."
    )
    BRAIN_ACCOUNT = strawberry.enum_value(
        "BRAIN_ACCOUNT",
        description="The member also signs in with a Brain account, which would keep them in the organization; "
        "remove that account in the Brain app first.",
    )
    # Workflow
    AGENT_DISABLED = strawberry.enum_value(
        "AGENT_DISABLED", description="A step's agent is switched off: the workflow does not run until it is enabled."
    )
    NOT_CANCELLABLE = strawberry.enum_value(
        "NOT_CANCELLABLE", description="Only queued or running executions can be cancelled."
    )
    NOT_RETRYABLE = strawberry.enum_value(
        "NOT_RETRYABLE", description="Only failed or cancelled executions can be retried."
    )
    # BrainAction
    ALREADY_ARCHIVED = strawberry.enum_value("ALREADY_ARCHIVED", description="The object is archived already.")
    INVALID_OBJECTIVE = strawberry.enum_value("INVALID_OBJECTIVE", description="The objective is too long.")
    INVALID_DATES = strawberry.enum_value("INVALID_DATES", description="The end date would fall before the start date.")
    NO_IDS = strawberry.enum_value("NO_IDS", description="A bulk action names no id.")
    TOO_MANY_IDS = strawberry.enum_value("TOO_MANY_IDS", description="A bulk action names more ids than allowed.")
    DUPLICATE_ID = strawberry.enum_value("DUPLICATE_ID", description="A bulk action names an id twice.")
    # Catalog
    INVALID_EXTERNAL_ID = strawberry.enum_value(
        "INVALID_EXTERNAL_ID", description="An external id is blank or longer than allowed."
    )
    INVALID_TEXT = strawberry.enum_value("INVALID_TEXT", description="A headline or objective is too long.")
    INVALID_CURRENCY = strawberry.enum_value(
        "INVALID_CURRENCY", description="A currency is not three capital letters (ISO 4217)."
    )
    INVALID_STATUS = strawberry.enum_value(
        "INVALID_STATUS", description="The status cannot be set this way (disconnect a channel with its own mutation)."
    )
    FORMAT_REQUIRED = strawberry.enum_value("FORMAT_REQUIRED", description="A new creative needs its format.")
    NAME_TAKEN = strawberry.enum_value(
        "NAME_TAKEN", description="Another channel of the organization on this platform has the name."
    )
    ACCOUNT_TAKEN = strawberry.enum_value(
        "ACCOUNT_TAKEN", description="Another channel of the organization already has this platform account."
    )
    PARENT_MISMATCH = strawberry.enum_value(
        "PARENT_MISMATCH", description="The row already exists under another parent; parents never change."
    )
    CHANNEL_DISCONNECTED = strawberry.enum_value(
        "CHANNEL_DISCONNECTED", description="The channel is disconnected: nothing syncs into it any more."
    )
    ALREADY_DISCONNECTED = strawberry.enum_value(
        "ALREADY_DISCONNECTED", description="The channel is disconnected already."
    )
    # Ingestion
    NOT_QUEUED = strawberry.enum_value(
        "NOT_QUEUED", description="The sync job is not queued (any more): another caller claimed it, or it ran."
    )
    PLATFORM_REQUIRED = strawberry.enum_value(
        "PLATFORM_REQUIRED", description="Name the platform of a new job, or the queued job to claim."
    )
    CREATIVE_REFERENCE = strawberry.enum_value(
        "CREATIVE_REFERENCE", description="A row names its creative by neither or both of `creativeId` and `creative`."
    )


@strawberry.interface(
    description="Why a mutation did not apply; nothing was changed. Every payload's `userErrors` items implement "
    "it, so one fragment (`... on UserError { code message field }`) reads the errors of any mutation."
)
class UserError:
    code: UserErrorCode = strawberry.field(description="Why, as a stable code to switch on.")
    message: str = strawberry.field(description=ERROR_MESSAGE)
    field: str | None = strawberry.field(description=ERROR_FIELD)


def codes(*members: UserErrorCode) -> frozenset[UserErrorCode]:
    """The codes one domain's mutations may answer with."""
    return frozenset(members)
