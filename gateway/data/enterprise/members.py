"""Members: people of the organization, joined across both stores by e-mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

from gateway.core.context import RequestContext
from gateway.core.mongo_mutations import Writes
from gateway.data.brain import users
from gateway.data.brain.users import BrainUser
from gateway.data.enterprise.query import ById, by_ids, ordering
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import INT, TEXT, TIME, Keyed, Ordering, Page, Paged, Seek, Values, paged
from gateway.data.text import contains_text
from gateway.errors import StoreUnavailable
from gateway.stores.mongo import Document

BY_EMAIL = (Sort("email"),)
# Enterprise roles, most privileged first: a member's role is the most privileged one held.
ROLE_RANK = {"owner": 0, "admin": 1, "analyst": 2, "member": 3}


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One person: the enterprise account, the Brain account, either or both."""

    email: str
    enterprise: Document | None
    brain: BrainUser | None
    brain_known: bool  # False when the Brain store could not be asked

    @property
    def name(self) -> str | None:
        """The enterprise account's display name, else the Brain one's."""
        return (self.enterprise or {}).get("name") or (self.brain.name if self.brain else None)

    @property
    def role_rank(self) -> int | None:
        """Rank of the most privileged enterprise role (0 = owner); None without one."""
        ranks = [ROLE_RANK[role] for role in (self.enterprise or {}).get("roles") or [] if role in ROLE_RANK]
        return min(ranks, default=None)


@dataclass(frozen=True)
class Filter:
    """Which members a list holds; every part given must hold."""

    email_contains: str | None = None
    name_contains: str | None = None
    enterprise_roles: tuple[str, ...] = ()  # any of them held
    brain_roles: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # of the enterprise account
    has_enterprise_account: bool | None = None
    has_brain_account: bool | None = None  # a member whose Brain account is unknown never matches
    last_login: TimeRange | None = None

    def __post_init__(self) -> None:
        for name, text in (("emailContains", self.email_contains), ("nameContains", self.name_contains)):
            if text is not None:
                contains_text(text, name)


def _contains(text: str | None, value: str | None) -> bool:
    return text is None or text.casefold() in (value or "").casefold()


def _in_range(value: dt.datetime | None, time_range: TimeRange | None) -> bool:
    if time_range is None:
        return True
    if value is None:
        return time_range.start is None and time_range.end is None
    return (time_range.start is None or value >= time_range.start) and (
        time_range.end is None or value < time_range.end
    )


def matches(row: MemberRow, f: Filter) -> bool:
    account = row.enterprise or {}
    has_brain = row.brain is not None if row.brain_known else None
    return (
        _contains(f.email_contains, row.email)
        and _contains(f.name_contains, row.name)
        and (not f.enterprise_roles or bool(set(f.enterprise_roles) & set(account.get("roles") or [])))
        and (not f.brain_roles or (row.brain is not None and row.brain.role in f.brain_roles))
        and (not f.statuses or account.get("status") in f.statuses)
        and (f.has_enterprise_account is None or f.has_enterprise_account == (row.enterprise is not None))
        and (f.has_brain_account is None or f.has_brain_account == has_brain)
        and _in_range(account.get("last_login_at"), f.last_login)
    )


def users_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "users")


SORT_VALUES: dict[str, Callable[[MemberRow], Any]] = {
    "email": lambda row: row.email,
    "name": lambda row: row.name,
    "last_login_at": lambda row: (row.enterprise or {}).get("last_login_at"),
    "role": lambda row: row.role_rank,
}
KINDS = {"email": TEXT, "name": TEXT, "last_login_at": TIME, "role": INT}


def _values(row: MemberRow, by: Ordering) -> Values:
    return tuple(SORT_VALUES[key.column](row) for key in by.keys)


def _beyond(values: Values, bound: Values, by: Ordering) -> bool:
    """Whether sort values come strictly after `bound` in `by`, placing null as MongoDB does (`sort_key`)."""
    for key, mine, theirs in zip(by.keys, values, bound, strict=True):
        if mine == theirs:
            continue
        if mine is None or theirs is None:
            return (mine is None) != bool(key.nulls_first)
        return bool(mine < theirs) if key.descending else bool(mine > theirs)
    return False


def _in_order(rows: list[MemberRow], by: Ordering) -> list[Keyed[MemberRow]]:
    def compare(a: Keyed[MemberRow], b: Keyed[MemberRow]) -> int:
        return 1 if _beyond(a[1], b[1], by) else -1 if _beyond(b[1], a[1], by) else 0

    return sorted(((row, _values(row, by)) for row in rows), key=cmp_to_key(compare))


async def _members(ctx: RequestContext, f: Filter) -> list[MemberRow]:
    enterprise = {doc["email"]: doc for doc in await ctx.mongo.find("users")}
    brain = await users.listed(ctx)
    brain_by_email = {user.email: user for user in brain or []}
    rows = [
        MemberRow(email, enterprise.get(email), brain_by_email.get(email), brain_known=brain is not None)
        for email in enterprise.keys() | brain_by_email.keys()
    ]
    return [row for row in rows if matches(row, f)]


async def page(ctx: RequestContext, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[MemberRow]:
    """Members matching `f`, by e-mail unless `order` says otherwise; the enterprise accounts only while the
    Brain store is unavailable.

    The list is a join of both stores' accounts, so it is made here: each store's
    accounts of the organization are read once (one query each), then joined,
    filtered, sorted and paged by the same keyset rule the stores follow.
    """
    sorted_by = ordering(order, BY_EMAIL, KINDS, tie="email")
    listed: list[list[MemberRow]] = []

    async def members() -> list[MemberRow]:
        if not listed:
            listed.append(await _members(ctx, f))
        return listed[0]

    async def count() -> int:
        return len(await members())

    async def fetch(wanted: Seek) -> list[Keyed[MemberRow]]:
        bounds = wanted.bounds()
        rows = _in_order(await members(), wanted.order)
        return [(row, values) for row, values in rows if all(_beyond(values, bound, by) for by, bound in bounds)][
            : wanted.limit
        ]

    return await paged("Organization.members", page, sorted_by, count, fetch)


async def member(ctx: RequestContext, email: str, enterprise: Document | None) -> MemberRow | None:
    """The member with this e-mail, completing an enterprise account (if any) with its Brain account."""
    try:
        brain = await ctx.loader(users.by_email).load(email)
        brain_known = True
    except StoreUnavailable:
        # A PostgreSQL outage degrades the member to what MongoDB knows.
        brain, brain_known = None, False
    if enterprise is None and brain is None:
        return None
    return MemberRow(email, enterprise, brain, brain_known)


async def by_raw_id(ctx: RequestContext, raw_id: str) -> MemberRow | None:
    """The member a raw id names: its enterprise account (`u:<id>`) or, Brain-only, its Brain account (`b:<id>`)."""
    store, _, key = raw_id.partition(":")
    if store == "u":
        enterprise = await ctx.loader(users_by_id).load(key)
        return await member(ctx, enterprise["email"], enterprise) if enterprise else None
    if store == "b":
        brain = next((u for u in await users.listed(ctx) or [] if str(u.id) == key), None)
        if brain is None or await ctx.mongo.find_one("users", {"email": brain.email}) is not None:
            return None  # a member with an enterprise account goes by that account's id
        return await member(ctx, brain.email, None)
    return None


# --- writes (inside an enterprise mutation) -------------------------------------------------


async def account_by_email(w: Writes, email: str) -> Document | None:
    """The organization's enterprise account with this (normalized) address."""
    return await w.find_one("users", {"email": email})


async def account_by_subject(w: Writes, subject: str) -> Document | None:
    """The organization's enterprise account a token's subject signs in as."""
    return await w.find_one("users", {"oidc_subject": subject})


async def organization_of_subject(w: Writes, subject: str) -> str | None:
    """The organization of the account signed in as `subject`, in any organization (None: there is none)."""
    found = await w.tenant.store.find_user_by_subject(subject)
    return str(found["organization_id"]) if found is not None else None


async def organization_of_email(w: Writes, email: str) -> str | None:
    """The organization of the account holding `email`, in any organization (addresses are unique store-wide)."""
    found = await w.tenant.store.find_user_by_email(email)
    return str(found["organization_id"]) if found is not None else None


def new_account(invitation: Document, subject: str, roles: list[str], moment: dt.datetime) -> Document:
    """The account an accepted invitation creates.

    It takes the invitation's id: however often an acceptance is retried or redelivered,
    one invitation creates at most one account.
    """
    return {
        "_id": invitation["_id"],
        "email": invitation["email"],
        "name": None,
        "roles": roles,
        "oidc_subject": subject,
        "status": "active",
        "last_login_at": None,
        "created_at": moment,
        "invitation_id": str(invitation["_id"]),
    }
