"""Members: people of the organization, joined across both stores by e-mail."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.context import RequestContext
from gateway.data.brain import users
from gateway.data.brain.users import BrainUser
from gateway.data.enterprise.query import ById, by_ids, seeking, sort_of
from gateway.data.paging import Keyed, Ordering, Page, Paged, Seek, SortKey, paged
from gateway.errors import StoreUnavailable
from gateway.stores.mongo import Document


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One person: the enterprise account, the Brain account, either or both."""

    email: str
    enterprise: Document | None
    brain: BrainUser | None
    brain_known: bool  # False when the Brain store could not be asked


def users_by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "users")


# By e-mail, which is unique among members: it is its own tie-break.
BY_EMAIL = Ordering.of(SortKey("email", "s"))


async def _page(ctx: RequestContext, wanted: Seek) -> list[Keyed[MemberRow]]:
    # The first n members of the union past the cursor are among the first n of
    # each store past it, so fetching n from each and merging gives the page.
    docs = await ctx.mongo.find("users", seeking({}, wanted), sort=sort_of(wanted.order), limit=wanted.limit)
    enterprise = {doc["email"]: doc for doc in docs}
    brain = await users.listed(ctx, wanted)
    brain_by_email = {user.email: user for user in brain or []}
    descending = wanted.order.keys[0].descending
    emails = sorted(enterprise.keys() | brain_by_email.keys(), reverse=descending)[: wanted.limit]
    return [
        (MemberRow(email, enterprise.get(email), brain_by_email.get(email), brain_known=brain is not None), (email,))
        for email in emails
    ]


async def _count(ctx: RequestContext) -> int:
    enterprise = {doc["email"] for doc in await ctx.mongo.find("users", projection={"email": 1})}
    brain = {user.email for user in await users.listed(ctx) or []}
    return len(enterprise | brain)


async def page(ctx: RequestContext, page: Page) -> Paged[MemberRow]:
    """Members ordered by e-mail; the enterprise accounts only while the Brain store is unavailable."""

    async def count() -> int:
        return await _count(ctx)

    async def fetch(wanted: Seek) -> list[Keyed[MemberRow]]:
        return await _page(ctx, wanted)

    return await paged("Organization.members", page, BY_EMAIL, count, fetch)


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
