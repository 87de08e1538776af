"""What the enterprise domain modules share: filter pieces, the page of a collection, loaders by id."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import TypeVar

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.context import RequestContext
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


def utc(value: dt.datetime) -> dt.datetime:
    # An instant without an offset is read as UTC, as the DateTime scalar documents.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
