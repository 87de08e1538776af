"""How a Brain mutation's stored rows become the objects of its payload: one builder per type.

A payload's rows are kept with the idempotent response as plain mappings; each builder reads
one back as its typed row, then as its GraphQL object.
"""

from __future__ import annotations

from gateway.data.brain.action_logs import ActionLogRow
from gateway.data.brain.brain_states import BrainStateRow
from gateway.data.brain.campaigns import CampaignRow
from gateway.data.brain.channels import ChannelRow
from gateway.data.brain.creatives import CreativeRow
from gateway.data.brain.credentials import CredentialRow
from gateway.data.brain.sync_jobs import SyncJobRow
from resolvers.actions.common import typed
from resolvers.brain.records import ActionLog, ApiCredential, BrainState
from resolvers.brain.sync_jobs import SyncJob
from resolvers.brain.types import Campaign, Channel, Creative

ACTION_LOG = typed(ActionLogRow, ActionLog.from_row)
CAMPAIGN = typed(CampaignRow, Campaign.from_row)
CHANNEL = typed(ChannelRow, Channel.from_row)
CREATIVE = typed(CreativeRow, Creative.from_row)
SYNC_JOB = typed(SyncJobRow, SyncJob.from_row)
BRAIN_STATE = typed(BrainStateRow, BrainState.from_row)
CREDENTIAL = typed(CredentialRow, ApiCredential.from_row)
