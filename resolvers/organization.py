"""`Organization`: one type resolved from both stores.

Each store's fields live with their domain (`enterprise/organization.py`,
`brain/organization.py`); this class only joins them. Each half fails on its
own: a MongoDB outage leaves the PostgreSQL fields resolving, and vice versa.
"""

from __future__ import annotations

import strawberry

from gateway.core.tenancy import OrgRef
from resolvers.brain.lookups import PlatformLookups
from resolvers.brain.organization import BrainOrganization
from resolvers.common.relay import Node, node_id
from resolvers.enterprise.organization import EnterpriseOrganization


@strawberry.type(
    description="A customer organization. Enterprise fields come from MongoDB, marketing fields from PostgreSQL; "
    "each store answers independently, so one store's outage leaves the other's fields intact."
)
class Organization(EnterpriseOrganization, BrainOrganization, PlatformLookups, Node):
    ref: strawberry.Private[OrgRef]

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.ref.name

    @strawberry.field(description="URL-safe unique handle, e.g. `acme`.")
    def slug(self) -> str:
        return self.ref.slug


def organization_of(ref: OrgRef) -> Organization:
    return Organization(id=node_id("Organization", ref.enterprise_id), ref=ref)
