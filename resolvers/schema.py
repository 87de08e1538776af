"""The root types and the assembled schema."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import Info
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.core import tracing
from gateway.core.config import Settings
from gateway.core.context import RequestContext
from gateway.errors import BadUserInput, Forbidden, server_fault
from resolvers.actions.agents import AgentMutations
from resolvers.actions.brain import BrainActions
from resolvers.actions.brain_states import BrainStateMutations
from resolvers.actions.catalog import CatalogMutations
from resolvers.actions.credentials import CredentialMutations
from resolvers.actions.ingestion import IngestionMutations
from resolvers.actions.team import TeamMutations
from resolvers.actions.workflows import WorkflowMutations
from resolvers.common.checks import DocumentLimits, document_checks
from resolvers.common.cost import LIST_SIZE
from resolvers.common.fair_share import FairShare
from resolvers.common.inputs import InputGuard
from resolvers.common.relay import Node
from resolvers.common.scalars import SCALAR_MAP
from resolvers.common.shape import ShapeLimits
from resolvers.execution import PlannedExecution
from resolvers.execution.documents import RequestExecutor
from resolvers.nodes import MAX_NODES, find_node, ids_asked, node_of
from resolvers.organization import Organization, organization_of
from resolvers.subscriptions import Subscription

Ctx = Info[RequestContext, None]
log = logging.getLogger("omnify.graphql")


@strawberry.enum(description="What kind of caller a token identifies.")
class ViewerKind(Enum):
    USER = strawberry.enum_value("user", description="A member of the organization, signed in.")
    PARTNER = strawberry.enum_value("partner", description="A partner integration using client credentials.")
    INVITEE = strawberry.enum_value(
        "invitee", description="A person in no organization yet; they may only accept an invitation."
    )


@strawberry.enum(description="A role granting access through this API.")
class ViewerRole(Enum):
    OWNER = strawberry.enum_value("owner", description="Everything, including billing and credentials.")
    ADMIN = strawberry.enum_value("admin", description="Manages the team, workflows and sensitive data.")
    MARKETER = strawberry.enum_value("marketer", description="Changes campaigns: budgets and creatives.")
    ANALYST = strawberry.enum_value("analyst", description="Reads the organization's data.")
    VIEWER = strawberry.enum_value("viewer", description="Reads the organization's non-sensitive data.")


@strawberry.type(description="Who is calling: the authenticated principal behind the request.")
class Viewer:
    subject: str = strawberry.field(description="The token's subject (`sub`).")
    kind: ViewerKind = strawberry.field(description="A member, a partner integration or an invitee.")
    roles: list[ViewerRole] = strawberry.field(description="Roles granted to the caller.")
    scopes: list[str] = strawberry.field(description="OAuth scopes of the token, e.g. `metrics:write`.")
    email: str | None = strawberry.field(description="E-mail address from the token, when present.")
    issuer: str = strawberry.field(description="The OIDC issuer that signed the token.")
    organization: Organization | None = strawberry.field(
        description="The organization the caller acts in; null for an invitee."
    )


@strawberry.type(description="Read access to the caller's organization across both stores.")
class Query:
    @strawberry.field(description="The authenticated caller.")
    def viewer(self, info: Ctx) -> Viewer:
        p = info.context.principal
        return Viewer(
            subject=p.subject,
            kind=ViewerKind(p.kind),
            roles=[ViewerRole(r) for r in sorted(p.roles)],
            scopes=sorted(p.scopes),
            email=p.email,
            issuer=p.issuer,
            organization=None if p.kind == "invitee" else organization_of(p.organization),
        )

    # Nullable, so an invitee's query still answers its other fields (`viewer`) with this one null.
    @strawberry.field(
        description="The caller's organization; null with a `FORBIDDEN` error for an invitee, who has none yet."
    )
    def organization(self, info: Ctx) -> Organization | None:
        principal = info.context.principal
        if principal.kind == "invitee":
            raise Forbidden("you are not a member of an organization yet; accept your invitation first")
        return organization_of(principal.organization)

    @strawberry.field(
        description="Any object by its global id. Null when it does not exist or belongs to another organization."
    )
    async def node(
        self,
        info: Ctx,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id from any `id` field.")],
    ) -> Node | None:
        found = await find_node(info.context, id)
        return found if isinstance(found, Node) else None

    @strawberry.field(
        description=f"Objects by their global ids, in the order given (at most {MAX_NODES}): each entry as "
        "`node(id:)` answers it, null for one that does not exist or belongs to another organization. "
        "Objects of one type are read together. Null, with the error, when an id is refused.",
        metadata={LIST_SIZE: lambda args: ids_asked(args.get("ids"))},
    )
    async def nodes(
        self,
        info: Ctx,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids from any `id` fields.")],
    ) -> list[Node | None] | None:
        # Nullable, as `node` is: a refused id answers this field null with its error, and the other fields.
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"`ids` holds {len(ids)} ids; at most {MAX_NODES} may be asked for at once")
        # Every id is checked before any is read: one refused id refuses the field, as `node` would.
        found = [node_of(info.context, i) for i in ids]
        # Started together, so the loaders batch each type's ids into one read.
        answers = await asyncio.gather(*(f() for f in found))
        return [a if isinstance(a, Node) else None for a in answers]


class GatewaySchema(strawberry.Schema):
    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        # Planned execution and fair share are asynchronous: synchronous execution runs on graphql-core alone.
        return [e for e in super().get_extensions(sync) if not (sync and isinstance(e, PlannedExecution | FairShare))]

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Only a resolver failing unexpectedly is an incident (ERROR, with its traceback).
        # What a caller gets wrong (bad documents, literals, variables, input) or is refused
        # is an answer: one INFO line without a traceback, so no caller can flood the log.
        for error in errors:
            original = error.original_error
            # RecursionError is a value nested past what the code can walk, answered as
            # BAD_USER_INPUT by the view; logging it at ERROR would let callers flood the log.
            if server_fault(error):
                log.error("unexpected error at %s", error.path, exc_info=original)
            else:
                code = (error.extensions or {}).get("code") or "BAD_USER_INPUT"
                log.info("client error %s: %s", code, redacted(error.message)[:200])


def redacted(message: str) -> str:
    """An error message without the values it quotes, for the log.

    Coercion and input errors echo what the caller sent (`found: {'token': '…'}`, an id, an
    address): e-mail addresses and invitation tokens must not reach the log. The caller got the
    full message; the request id ties the two together.
    """
    head, found, _ = message.partition("found:")
    head = _QUOTED.sub("'…'", head)
    # Numbers, booleans, lists and bare literals are quoted by nothing: a secret sent as one is echoed
    # unquoted (`… non string value: 918273…`, `Expected value of type '…', found tok_…`).
    head = _ECHOED.sub(r"\1 …", head)
    return head + ("found: …" if found else "")


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_ECHOED = re.compile(r"(\bvalue:|\binvalid value|\bfound)\s(?!at\b)[^;]*")


@strawberry.type(description="Changes: Brain actions, partner ingestion, and enterprise team and workflow management.")
class Mutation(
    BrainActions,
    IngestionMutations,
    TeamMutations,
    WorkflowMutations,
    CatalogMutations,
    AgentMutations,
    CredentialMutations,
    BrainStateMutations,
):
    pass


class OperationName(SchemaExtension):
    """Records the operation name on the request context, for metrics and logs."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            context.operation = self.execution_context.operation_name or "anonymous"


class TracedOperation(SchemaExtension):
    """A span per operation, inside the request's, around execution (after the limits passed)."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        kind = ec.operation_type.value if ec.operation_type is not None else "operation"
        with tracing.operation_span(kind, ec.operation_name):
            yield


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2500
    introspection: bool = True
    max_cost: int = 50_000
    max_chars: int = 64_000
    max_fields: int = 800
    budget_s: float = 0.25

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            introspection=settings.introspection_enabled,
            max_cost=settings.max_cost,
            max_chars=settings.max_document_chars,
            max_fields=settings.max_fields,
            budget_s=settings.document_budget_ms / 1000,
        )


def build_schema(limits: Limits = Limits()) -> GatewaySchema:
    """The schema with the request limits; the exported SDL does not depend on them."""
    checks = document_checks(
        DocumentLimits(
            shape=ShapeLimits(max_depth=limits.max_depth, max_aliases=limits.max_aliases, max_fields=limits.max_fields),
            max_tokens=limits.max_tokens,
            max_chars=limits.max_chars,
            max_cost=limits.max_cost,
            introspection=limits.introspection,
            budget_s=limits.budget_s,
        )
    )
    # Planned execution last: it runs after the limits and the input guard have passed, and
    # inside the slot FairShare takes once the request is charged its cost.
    extensions: list[Any] = [checks, OperationName, InputGuard, FairShare, TracedOperation, PlannedExecution]
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=extensions,
        execution_context_class=RequestExecutor,
    )


schema = build_schema()
