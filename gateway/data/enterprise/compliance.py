"""Compliance controls and their latest checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.core.context import RequestContext
from gateway.data.enterprise.query import ById, all_of, any_of, by_ids, collection_page, contains, ordering, within
from gateway.data.filters import Sort, TimeRange
from gateway.data.paging import TEXT, TIME, Page, Paged
from gateway.stores.mongo import Document, TenantMongo

BY_CONTROL = (Sort("framework"), Sort("control"))
# Each `orderBy` field and the type of its values.
KINDS = {"framework": TEXT, "control": TEXT, "status": TEXT, "checked_at": TIME}


@dataclass(frozen=True)
class Filter:
    """Which checks a list holds; every part given must hold."""

    frameworks: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    control_contains: str | None = None
    checked: TimeRange | None = None


def query(f: Filter) -> Document:
    return all_of(
        any_of("framework", f.frameworks),
        any_of("status", f.statuses),
        contains("control", f.control_contains),
        within("checked_at", f.checked),
    )


async def page(mongo: TenantMongo, page: Page, f: Filter, order: Sequence[Sort] = ()) -> Paged[Document]:
    """Checks matching `f`, by framework then control unless `order` says otherwise."""
    return await collection_page(
        mongo,
        "Organization.complianceChecks",
        page,
        "compliance_checks",
        query(f),
        ordering(order, BY_CONTROL, KINDS),
    )


def by_id(ctx: RequestContext) -> ById:
    return by_ids(ctx, "compliance_checks")
