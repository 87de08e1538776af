"""What the enterprise domain modules share: filter pieces, the page of a collection, loaders by id."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import partial
from typing import TypeVar

from aiodataloader import DataLoader
from bson import ObjectId

from gateway.core.context import RequestContext
from gateway.data.filters import Comparison, Sort, TimeRange, mongo_comparison, mongo_time_range
from gateway.data.paging import OBJECT_ID, Keyed, Ordering, Page, Paged, Seek, SortKey, Values, paged
from gateway.data.text import contains_text
from gateway.stores.mongo import Document, TenantMongo

SortSpec = list[tuple[str, int]]  # a MongoDB sort specification
ById = DataLoader[str, Document | None]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def any_of(field: str, wanted: Sequence[str]) -> Document:
    """`field` is one of `wanted`; no condition when there are none."""
    return {field: {"$in": list(wanted)}} if wanted else {}


def contains(field: str, text: str | None) -> Document:
    # Escaped: the analyst's text is a substring, not a pattern.
    return {field: {"$regex": re.escape(contains_text(text, f"{field}Contains")), "$options": "i"}} if text else {}


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


def grouped(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """Items bucketed by `key`, keeping their order within each bucket."""
    groups: dict[K, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def sort_key(field: str, kind: str, descending: bool = False) -> SortKey:
    """A sort key of a MongoDB list: null and missing sort first ascending, last descending, as MongoDB sorts them."""
    return SortKey(field, kind, descending, not descending)


def ordering(
    requested: Sequence[Sort], default: Sequence[Sort], kinds: Mapping[str, str], tie: str = "_id"
) -> Ordering:
    """The order a client asks for (else `default`), then `tie`, unique, going the way the first key goes.

    `kinds` types each field's values (`_id`: ObjectId). A field asked for twice
    counts once, where it first appears (MongoDB refuses a sort naming a field twice).
    """
    keys: dict[str, SortKey] = {}
    for key in requested or default:
        keys.setdefault(key.field, sort_key(key.field, kinds[key.field], key.descending))
    first = next(iter(keys.values()))
    keys.setdefault(tie, SortKey(tie, kinds.get(tie, OBJECT_ID), first.descending))
    return Ordering.of(*keys.values())


def sort_of(ordering: Ordering) -> SortSpec:
    return [(k.column, -1 if k.descending else 1) for k in ordering.keys]


def after(ordering: Ordering, values: Values) -> Document:
    """Documents strictly after `values` (a cursor's sort values) in `ordering`: the seek condition of a page.

    One alternative per key: the keys before it equal, it strictly beyond
    (`{field: null}` matches null and missing alike, as the sort treats them).
    """
    keys = ordering.keys
    alternatives: list[Document] = []
    for i, key in enumerate(keys):
        beyond = _beyond(key, values[i])
        if beyond is not None:
            equal: list[Document] = [{k.column: v} for k, v in zip(keys[:i], values[:i], strict=True)]
            alternatives.append({"$and": [*equal, beyond]} if equal else beyond)
    return {"$or": alternatives} if alternatives else {"_id": {"$exists": False}}


def _beyond(key: SortKey, value: object) -> Document | None:
    if value is None:
        return {key.column: {"$ne": None}} if key.nulls_first else None
    beyond = {key.column: {"$lt" if key.descending else "$gt": value}}
    return {"$or": [beyond, {key.column: None}]} if key.nulls_first is False else beyond


def seeking(query: Document, wanted: Seek) -> Document:
    """`query` and the seek conditions of a page."""
    conditions = [after(ordering, values) for ordering, values in wanted.bounds()]
    return {"$and": [query, *conditions]} if conditions else query


def keyed(docs: Sequence[Document], ordering: Ordering) -> list[Keyed[Document]]:
    """Documents with their sort values (a dotted path reads a nested field)."""
    return [(doc, tuple(_field(doc, k.column) for k in ordering.keys)) for doc in docs]


def _field(doc: Document, path: str) -> object:
    value: object = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


async def collection_page(
    mongo: TenantMongo, key: str, page: Page, collection: str, query: Document, ordering: Ordering
) -> Paged[Document]:
    """One page of a collection's documents matching `query`, plus a lazily counted total."""

    async def count() -> int:
        return await mongo.count(collection, query)

    async def fetch(wanted: Seek) -> list[Keyed[Document]]:
        docs = await mongo.find(collection, seeking(query, wanted), sort=sort_of(wanted.order), limit=wanted.limit)
        return keyed(docs, ordering)

    return await paged(key, page, ordering, count, fetch)


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
