"""Workflow mutations (MongoDB): create, update, run, schedule."""

from __future__ import annotations

import strawberry

from resolvers.actions.workflows import create, run, schedule, update


@strawberry.type
class WorkflowMutations:
    create_workflow = create.mutation
    update_workflow = update.mutation
    run_workflow = run.mutation
    set_workflow_schedule = schedule.mutation
