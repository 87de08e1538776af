"""Workflow mutations (MongoDB): create, update, run, schedule and unschedule; cancel and retry executions."""

from __future__ import annotations

import strawberry

from resolvers.actions.workflows import create, executions, run, schedule, unschedule, update


@strawberry.type
class WorkflowMutations:
    create_workflow = create.mutation
    update_workflow = update.mutation
    run_workflow = run.mutation
    set_workflow_schedule = schedule.mutation
    delete_workflow_schedule = unschedule.mutation
    cancel_execution = executions.cancel
    retry_execution = executions.retry
