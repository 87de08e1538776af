"""`node(id)` for MongoDB types: global-id type name -> fetch by raw id within the tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.context import RequestContext

NodeResolver = Callable[[RequestContext, str], Awaitable[object | None]]

NODE_RESOLVERS: dict[str, NodeResolver] = {}
