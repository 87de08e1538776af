"""The `seats` quota: members and open invitations together never exceed its limit."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.rules import Rejected, reject


@dataclass(frozen=True)
class Seats:
    """Who holds a seat right now.

    `joining`: accepted invitations whose new account may not be delivered yet (the seat is the
    account's); `in_flight`: invitations still travelling with a quota update. Both may count a
    person twice for a moment, which errs on the side of never handing a seat out twice.
    """

    members: int
    open_invitations: int
    joining: int = 0
    in_flight: int = 0

    @property
    def taken(self) -> int:
        return self.members + self.open_invitations + self.joining + self.in_flight


def no_quota() -> Rejected:
    return reject("QUOTA_EXCEEDED", "the organization has no seats quota for this period", "email")


def take_seat(seats: Seats, limit: int) -> int:
    """How many seats are taken once one more is, when the quota has one left."""
    if seats.taken >= limit:
        raise reject("QUOTA_EXCEEDED", f"all {limit} seats are taken by members and open invitations", "email")
    return seats.taken + 1
