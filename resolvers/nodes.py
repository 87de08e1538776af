"""`node(id:)` and `nodes(ids:)` across both stores, and the readers log targets resolve through.

An id from another organization or of no object reads as None; an id that
is not one of this API's is `BAD_USER_INPUT`, and a type the caller may not
read (the sensitive ones, as the organization's lists of them) `FORBIDDEN`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from gateway.core.context import RequestContext
from gateway.core.permissions import Permission, permissions_of
from gateway.data.ids import from_global_id
from gateway.errors import BadUserInput
from resolvers.brain.nodes import NODE_RESOLVERS as BRAIN_NODES
from resolvers.common import targets
from resolvers.enterprise.nodes import NODE_RESOLVERS as ENTERPRISE_NODES
from resolvers.organization import organization_of

NODE_RESOLVERS = {**ENTERPRISE_NODES, **BRAIN_NODES}
SENSITIVE_NODES = frozenset({"ApiCredential", "AuditLog", "Invitation"})
MAX_NODES = 100  # ids one `nodes` field reads


def ids_asked(ids: object) -> int:
    """The size of `nodes` for the cost estimate: a single id (list input coercion) is one."""
    return min(len(ids), MAX_NODES) if isinstance(ids, list) else 1


async def find_node(ctx: RequestContext, id: str) -> object | None:
    return await node_of(ctx, id)()


def node_of(ctx: RequestContext, id: str) -> Callable[[], Awaitable[object | None]]:
    """How to read the object of a global id, after checking the id and the caller's right to its type."""
    type_name, raw = from_global_id(id)
    if type_name == "Organization":
        ref = ctx.principal.organization
        mine = raw == ref.enterprise_id and ctx.principal.kind != "invitee"
        return partial(_answer, organization_of(ref) if mine else None)
    resolve = NODE_RESOLVERS.get(type_name)
    if resolve is None:
        raise BadUserInput(f"{id!r} is not an id of this API")
    if type_name in SENSITIVE_NODES:
        # The same rule as the organization's lists of these types.
        ctx.require(Permission.READ_SENSITIVE)
    return partial(resolve, ctx, raw)


async def _answer(value: object | None) -> object | None:
    return value


def _target_reader(type_name: str, read: targets.NodeReader) -> targets.NodeReader:
    """`read`, answering None where `node(id:)` would refuse the caller the type."""

    async def reader(ctx: RequestContext, raw: str) -> object | None:
        if type_name in SENSITIVE_NODES and Permission.READ_SENSITIVE not in permissions_of(ctx.principal):
            return None
        return await read(ctx, raw)

    return reader


async def _organization_target(ctx: RequestContext, raw: str) -> object | None:
    # The Brain store's log names the organization by its Brain id, the enterprise store's by its own.
    ref = ctx.principal.organization
    mine = raw in (ref.enterprise_id, str(ref.brain_id)) and ctx.principal.kind != "invitee"
    return organization_of(ref) if mine else None


targets.READERS.update({name: _target_reader(name, read) for name, read in NODE_RESOLVERS.items()})
targets.READERS["Organization"] = _organization_target
