"""Optimistic concurrency: an edit based on a version that is no longer current is a user error."""

from __future__ import annotations

from gateway.core.rules import Rejected, reject


def stale(what: str, current: int, expected: int) -> Rejected:
    """The user error of an edit made at `expected` while `what` is at `current`: VERSION_CONFLICT on
    `expectedVersion`, naming the current version so the client can read it again and retry."""
    return reject("VERSION_CONFLICT", f"the {what} is at version {current}, not {expected}", "expectedVersion")
