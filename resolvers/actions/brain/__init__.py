"""Brain actions (PostgreSQL): pause and resume creatives, set and shift campaign budgets."""

from __future__ import annotations

import strawberry

from resolvers.actions.brain import budgets, creatives


@strawberry.type
class BrainActions:
    pause_creative = creatives.pause
    resume_creative = creatives.resume
    update_campaign_budget = budgets.update
    shift_budget = budgets.shift
