"""What the enterprise domain modules share: filter pieces, the page of a collection, loaders by id."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import TypeVar

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.context import RequestContext
from gateway.data.filters import Comparison, SortKey, TimeRange, mongo_comparison, mongo_time_range
from gateway.data.paging import Page, Paged, paged
from gateway.data.text import contains_text
from gateway.stores.mongo import Document, TenantMongo

Sort = list[tuple[str, int]]
ById = DataLoader[str, Document | None]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def any_of(field: str, wanted: Sequence[str]) -> Document:
    """`field` is one of `wanted`; no condition when there are none."""
    return {field: {"$in": list(wanted)}} if wanted else {}


def contains(field: str, text: str | None) -> Document:
    # Escaped: the analyst's text is a substring, not a pattern.
    return {field: {"$regex": re.escape(contains_text(text)), "$options": "i"}} if text else {}


def within(field: str, time_range: TimeRange | None) -> Document:
    """`field` is in the half-open range; no condition when it is open at both ends."""
    condition = mongo_time_range(time_range)
    return {field: condition} if condition else {}


def compared(field: str, comparison: Comparison | None) -> Document:
    """`field` meets every bound given."""
    condition = mongo_comparison(comparison)
    return {field: condition} if condition else {}


def all_of(*conditions: Document) -> Document:
    """Every condition holds: one document when their fields differ, else `$and`."""
    given = [c for c in conditions if c]
    merged: Document = {}
    for condition in given:
        if merged.keys() & condition.keys():
            return {"$and": given}
        merged.update(condition)
    return merged


def sort_by(keys: Sequence[SortKey], default: Sequence[SortKey]) -> Sort:
    """The order `keys` give (else `default`), ending on `_id` in the last key's direction so ties keep one order."""
    chosen = list(keys or default)
    direction = -1 if chosen[-1].descending else 1
    return [*((key.field, -1 if key.descending else 1) for key in chosen), ("_id", direction)]


def grouped(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """Items bucketed by `key`, keeping their order within each bucket."""
    groups: dict[K, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


async def collection_page(
    mongo: TenantMongo, key: str, page: Page, collection: str, query: Document, sort: Sort
) -> Paged[Document]:
    """One page of a collection's documents matching `query`, plus a lazily counted total."""

    async def count() -> int:
        return await mongo.count(collection, query)

    async def fetch(offset: int, limit: int) -> list[Document]:
        return await mongo.find(collection, query, sort=sort, skip=offset, limit=limit)

    return await paged(key, page, count, fetch)


async def _load_by_ids(mongo: TenantMongo, collection: str, ids: Sequence[str]) -> list[Document | None]:
    # Ids come from clients (node ids) as well as from documents: a malformed one
    # is simply not found rather than an error.
    object_ids = [ObjectId(raw) for raw in ids if ObjectId.is_valid(raw)]
    docs = await mongo.find(collection, {"_id": {"$in": object_ids}}) if object_ids else []
    by_id = {str(doc["_id"]): doc for doc in docs}
    return [by_id.get(raw) for raw in ids]


def by_ids(ctx: RequestContext, collection: str) -> ById:
    """Documents of `collection` by their 24-hex id, one query per batch."""
    return DataLoader(partial(_load_by_ids, ctx.mongo, collection))
