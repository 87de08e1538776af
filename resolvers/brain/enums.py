"""The enums of the Brain store (PostgreSQL): each value is what the store holds."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.common.objects import enum_reader


@strawberry.enum(description="Lifecycle state of a campaign or creative.")
class DeliveryStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Delivering.")
    PAUSED = strawberry.enum_value("paused", description="Stopped for now; can be resumed.")
    ARCHIVED = strawberry.enum_value("archived", description="Retired for good; cannot change any more.")


@strawberry.enum(description="Advertising or commerce platform of a channel.")
class Platform(Enum):
    META = strawberry.enum_value("meta", description="Meta (Facebook, Instagram) ads.")
    GOOGLE = strawberry.enum_value("google", description="Google Ads.")
    TIKTOK = strawberry.enum_value("tiktok", description="TikTok ads.")
    SHOPIFY = strawberry.enum_value("shopify", description="Shopify store.")
    LINKEDIN = strawberry.enum_value("linkedin", description="LinkedIn ads.")
    EMAIL = strawberry.enum_value("email", description="E-mail campaigns.")


@strawberry.enum(description="Connection state of a channel.")
class ChannelStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Connected and syncing.")
    PAUSED = strawberry.enum_value("paused", description="Connected, syncing suspended.")
    DISCONNECTED = strawberry.enum_value("disconnected", description="No longer connected to the platform.")


@strawberry.enum(description="Kind of ad creative.")
class CreativeFormat(Enum):
    IMAGE = strawberry.enum_value("image", description="A single image.")
    VIDEO = strawberry.enum_value("video", description="A video.")
    CAROUSEL = strawberry.enum_value("carousel", description="Several images or videos to swipe through.")
    TEXT = strawberry.enum_value("text", description="Text only.")


@strawberry.enum(description="A Brain module whose output is cached in brain states.")
class BrainModule(Enum):
    MEMORY = strawberry.enum_value("memory", description="What the Brain learned from past performance.")
    ORACLE = strawberry.enum_value("oracle", description="The Brain's forecasts.")
    CURIOSITY = strawberry.enum_value("curiosity", description="Experiments the Brain suggests.")


@strawberry.enum(description="Progress of a platform sync job.")
class SyncJobStatus(Enum):
    QUEUED = strawberry.enum_value("queued", description="Waiting to start.")
    RUNNING = strawberry.enum_value("running", description="Started; accepts metrics batches.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Finished without error.")
    FAILED = strawberry.enum_value("failed", description="Finished with an error.")


@strawberry.enum(description="State of a stored platform credential.")
class ApiCredentialStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Usable.")
    REVOKED = strawberry.enum_value("revoked", description="Withdrawn; no longer usable.")
    EXPIRED = strawberry.enum_value("expired", description="Past its expiry; no longer usable.")


@strawberry.enum(description="Outcome of a logged action.")
class ActionLogStatus(Enum):
    SUCCEEDED = strawberry.enum_value("succeeded", description="The action applied.")
    FAILED = strawberry.enum_value("failed", description="The action did not apply.")


@strawberry.enum(
    description="What a logged Brain action was: the mutation that ran it, by name in upper case (its stored "
    "value is the mutation's name, e.g. `shiftBudget`)."
)
class ActionKind(Enum):
    # The one list of action names: mutations log and key their idempotency with `.value`.
    PAUSE_CREATIVE = strawberry.enum_value("pauseCreative", description="A creative was paused.")
    RESUME_CREATIVE = strawberry.enum_value("resumeCreative", description="A creative was resumed.")
    UPDATE_CAMPAIGN_BUDGET = strawberry.enum_value(
        "updateCampaignBudget", description="A campaign's daily budget was set."
    )
    SHIFT_BUDGET = strawberry.enum_value("shiftBudget", description="Daily budget moved between two campaigns.")
    START_SYNC_JOB = strawberry.enum_value("startSyncJob", description="A sync job started.")
    FINISH_SYNC_JOB = strawberry.enum_value("finishSyncJob", description="A sync job finished.")
    INGEST_DAILY_METRICS = strawberry.enum_value(
        "ingestDailyMetrics", description="A batch of daily metrics was written."
    )
    CREATE_CREDENTIAL = strawberry.enum_value("createCredential", description="An API credential was created.")
    ROTATE_CREDENTIAL = strawberry.enum_value(
        "rotateCredential", description="An API credential's secret was replaced."
    )
    REVOKE_CREDENTIAL = strawberry.enum_value("revokeCredential", description="An API credential was revoked.")
    PUBLISH_BRAIN_STATE = strawberry.enum_value(
        "publishBrainState", description="A Brain module published a new state."
    )
    ARCHIVE_CREATIVE = strawberry.enum_value("archiveCreative", description="A creative was archived.")
    PAUSE_CAMPAIGN = strawberry.enum_value("pauseCampaign", description="A campaign was paused.")
    RESUME_CAMPAIGN = strawberry.enum_value("resumeCampaign", description="A campaign was resumed.")
    ARCHIVE_CAMPAIGN = strawberry.enum_value(
        "archiveCampaign", description="A campaign was archived, with its creatives."
    )
    UPDATE_CAMPAIGN = strawberry.enum_value("updateCampaign", description="A campaign's fields were edited.")
    PAUSE_CREATIVES = strawberry.enum_value(
        "pauseCreatives", description="Creatives were paused in bulk (one log per creative)."
    )
    RESUME_CREATIVES = strawberry.enum_value(
        "resumeCreatives", description="Creatives were resumed in bulk (one log per creative)."
    )
    PAUSE_CAMPAIGNS = strawberry.enum_value(
        "pauseCampaigns", description="Campaigns were paused in bulk (one log per campaign)."
    )
    SYNC_CATALOG = strawberry.enum_value(
        "syncCatalog", description="Channels, campaigns and creatives were synced by their platform ids."
    )
    REQUEST_SYNC = strawberry.enum_value("requestSync", description="A sync job was queued.")
    CONNECT_CHANNEL = strawberry.enum_value("connectChannel", description="A channel was connected.")
    UPDATE_CHANNEL = strawberry.enum_value("updateChannel", description="A channel's fields were changed.")
    DISCONNECT_CHANNEL = strawberry.enum_value("disconnectChannel", description="A channel was disconnected.")


@strawberry.enum(description="Type of the object a logged action acted on (the GraphQL type's name as stored).")
class ActionTargetType(Enum):
    CAMPAIGN = strawberry.enum_value("Campaign", description="A campaign.")
    CREATIVE = strawberry.enum_value("Creative", description="A creative.")
    SYNC_JOB = strawberry.enum_value("SyncJob", description="A sync job.")
    ORGANIZATION = strawberry.enum_value(
        "Organization", description="The organization itself (e.g. metrics ingested without a sync job)."
    )
    API_CREDENTIAL = strawberry.enum_value("ApiCredential", description="An API credential.")
    BRAIN_STATE = strawberry.enum_value("BrainState", description="A published Brain state.")
    CHANNEL = strawberry.enum_value("Channel", description="A channel.")


# Readers of stored values for objects built per row: one dict lookup each, not an enum call.
delivery_status = enum_reader(DeliveryStatus)
platform = enum_reader(Platform)
channel_status = enum_reader(ChannelStatus)
creative_format = enum_reader(CreativeFormat)
brain_module = enum_reader(BrainModule)
sync_job_status = enum_reader(SyncJobStatus)
credential_status = enum_reader(ApiCredentialStatus)
action_status = enum_reader(ActionLogStatus)
action_kind = enum_reader(ActionKind)
action_target_type = enum_reader(ActionTargetType)
