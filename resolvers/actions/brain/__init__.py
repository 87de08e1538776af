"""Brain actions (PostgreSQL): creative and campaign status (one or many at once), campaign edits and budgets."""

from __future__ import annotations

import strawberry

from resolvers.actions.brain import budgets, bulk_status, campaign_edit, campaigns, creatives


@strawberry.type
class BrainActions:
    pause_creative = creatives.pause
    resume_creative = creatives.resume
    archive_creative = creatives.archive
    pause_creatives = bulk_status.pause_many_creatives
    resume_creatives = bulk_status.resume_many_creatives
    pause_campaign = campaigns.pause
    resume_campaign = campaigns.resume
    archive_campaign = campaigns.archive
    pause_campaigns = bulk_status.pause_many_campaigns
    update_campaign = campaign_edit.update
    update_campaign_budget = budgets.update
    shift_budget = budgets.shift
