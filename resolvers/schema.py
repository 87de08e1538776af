"""The root types and the assembled schema."""

from __future__ import annotations

import strawberry
from strawberry import Info
from strawberry.schema.config import StrawberryConfig

from gateway.context import RequestContext
from resolvers.common.scalars import SCALAR_MAP
from resolvers.organization import Organization, organization_of

Ctx = Info[RequestContext, None]


@strawberry.type(description="Who is calling: the authenticated principal behind the request.")
class Viewer:
    subject: str = strawberry.field(description="The token's subject (`sub`).")
    kind: str = strawberry.field(description="`user` for people, `partner` for client-credentials integrations.")
    roles: list[str] = strawberry.field(description="Roles granted to the caller, e.g. `analyst`.")
    scopes: list[str] = strawberry.field(description="OAuth scopes of the token, e.g. `metrics:write`.")
    email: str | None = strawberry.field(description="E-mail address from the token, when present.")
    issuer: str = strawberry.field(description="The OIDC issuer that signed the token.")
    organization: Organization = strawberry.field(description="The organization the caller acts in.")


@strawberry.type(description="Read access to the caller's organization across both stores.")
class Query:
    @strawberry.field(description="The authenticated caller.")
    def viewer(self, info: Ctx) -> Viewer:
        p = info.context.principal
        return Viewer(
            subject=p.subject,
            kind=p.kind,
            roles=sorted(p.roles),
            scopes=sorted(p.scopes),
            email=p.email,
            issuer=p.issuer,
            organization=organization_of(p.organization),
        )

    @strawberry.field(description="The caller's organization.")
    def organization(self, info: Ctx) -> Organization:
        return organization_of(info.context.principal.organization)


schema = strawberry.Schema(query=Query, config=StrawberryConfig(scalar_map=SCALAR_MAP))
