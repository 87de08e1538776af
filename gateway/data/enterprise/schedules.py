"""Workflow schedules: at most one per workflow."""

from __future__ import annotations

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from gateway.core.mongo_mutations import Audit, Writes
from gateway.core.rules import reject
from gateway.stores.mongo import Document

COLLECTION = "scheduled_workflows"


async def of_workflow(w: Writes, workflow_id: ObjectId) -> Document | None:
    return await w.find_one(COLLECTION, {"workflow_id": str(workflow_id)}, sort=[("_id", 1)])


def schedule_id(existing: Document | None, workflow_id: ObjectId) -> ObjectId:
    """The id the workflow's schedule has, or takes when created: its workflow's, so two concurrent first
    schedules cannot both insert."""
    return existing["_id"] if existing is not None else workflow_id


async def put(w: Writes, workflow_id: ObjectId, existing: Document | None, fields: Document, audit: Audit) -> Document:
    """Create the workflow's schedule with `fields`, or set them on the one it has."""
    sid = schedule_id(existing, workflow_id)
    if existing is None:
        created = {"_id": sid, "workflow_id": str(workflow_id), "last_run_at": None, "created_at": fields["updated_at"]}
        try:
            return await w.insert(COLLECTION, {**created, **fields}, audit)
        except DuplicateKeyError:
            pass  # created by a concurrent request: update it instead
    updated = await w.update(COLLECTION, {"_id": sid}, {"$set": fields}, audit)
    if updated is None:
        raise reject("NOT_FOUND", "the workflow's schedule disappeared meanwhile; try again", "workflowId")
    return updated


async def find(w: Writes, schedule_id: ObjectId) -> Document | None:
    return await w.find_one(COLLECTION, {"_id": schedule_id})


async def delete(w: Writes, schedule_id: ObjectId, audit: Audit) -> Document | None:
    """Delete the schedule (None: it is gone already)."""
    return await w.delete(COLLECTION, {"_id": schedule_id}, audit)
