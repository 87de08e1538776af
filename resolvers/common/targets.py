"""The object an action log or audit entry names, as a `Node`.

Both logs store their target as a type name and that store's raw id. The
readers of `node(id:)` are registered here by the assembled schema (the log
types cannot import them: the readers build the log types themselves), so a
target reads exactly as `node(id:)` reads it, batched with it, and within the
caller's organization. A target that no longer exists, lives outside both
stores, or is of a type the caller may not read is null, never an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.core.context import RequestContext
from resolvers.common.relay import Node

NodeReader = Callable[[RequestContext, str], Awaitable[object | None]]
# Type name -> the reader of `node(id:)` for that type, given the raw id (filled by `resolvers.schema`).
READERS: dict[str, NodeReader] = {}


async def target(ctx: RequestContext, type_name: str, raw_id: str) -> Node | None:
    read = READERS.get(type_name)
    found = await read(ctx, raw_id) if read is not None else None
    return found if isinstance(found, Node) else None
