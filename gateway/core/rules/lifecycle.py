"""Delivery status of campaigns and creatives, and the fields of a campaign a user may edit.

Statuses: `active` delivers, `paused` stops for now, `archived` is final. A creative's own
status and its campaign's are independent: pausing a campaign stops its delivery without
touching its creatives' statuses (resuming it brings back exactly the creatives that were
active), while archiving a campaign archives its creatives with it, since nothing of an
archived campaign can deliver again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from gateway.core.rules import UserError, reject, versions

ACTIVE, PAUSED, ARCHIVED = "active", "paused", "archived"
MAX_OBJECTIVE = 100


class Transition(Enum):
    """What asking an object for a status does, given the status it has."""

    CHANGED = "CHANGED"  # it moves to the status asked for
    UNCHANGED = "UNCHANGED"  # it has that status already
    ARCHIVED = "ARCHIVED"  # it is archived: it cannot move any more


def transition(current: str, wanted: str) -> Transition:
    if current == wanted:
        return Transition.UNCHANGED
    if current == ARCHIVED:
        return Transition.ARCHIVED
    return Transition.CHANGED


def check_transition(kind: str, current: str, wanted: str, field: str) -> None:
    """A single action's status change as a user error when it would not change anything.

    `kind` is `CREATIVE` or `CAMPAIGN`, as the error codes spell it.
    """
    outcome = transition(current, wanted)
    if outcome is Transition.CHANGED:
        return
    if wanted == ARCHIVED:
        raise reject("ALREADY_ARCHIVED", f"the {kind.lower()} is archived already", field)
    if outcome is Transition.ARCHIVED:
        raise reject(f"{kind}_ARCHIVED", f"archived {kind.lower()}s cannot change status", field)
    raise reject("ALREADY_" + wanted.upper(), f"the {kind.lower()} is already {wanted}", field)


@dataclass(frozen=True)
class CampaignFields:
    """A campaign's editable fields, as stored."""

    name: str
    objective: str | None
    start_date: dt.date | None
    end_date: dt.date | None


def objective(value: str | None) -> str | None:
    """The optimisation goal as stored: trimmed; None (cleared) when blank."""
    text = (value or "").strip()
    if len(text) > MAX_OBJECTIVE:
        raise reject("INVALID_OBJECTIVE", f"the objective must be at most {MAX_OBJECTIVE} characters", "objective")
    return text or None


def check_dates(fields: CampaignFields) -> None:
    """The dates a campaign would have after an edit: the last day not before the first."""
    if fields.start_date is not None and fields.end_date is not None and fields.end_date < fields.start_date:
        raise reject(
            "INVALID_DATES",
            f"the end date {fields.end_date} is before the start date {fields.start_date}",
            "endDate",
        )


def version_conflict(current: int, expected: int) -> UserError | None:
    """The user error of an edit based on another version than the campaign's current one."""
    return None if current == expected else versions.stale("campaign", current, expected).errors[0]
