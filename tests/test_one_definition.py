"""A batched field is defined once, by its batch: both executors run that one definition.

A small schema made with the project's kit (`batched_field`, `row_builder`) and the planned
executor's extension is run on a real request context (a real token's principal) with
`settings.executor` `standard` and `planned`: a permission check written in the definition
refuses alike on both, per object and for the whole field, with the same errors and data.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, ClassVar

import pytest
import strawberry
from strawberry import Info

from gateway.core.auth import Principal
from gateway.core.context import RequestContext
from gateway.core.permissions import Permission
from gateway.errors import Forbidden
from gateway.stores.tracing import StoreTrace
from resolvers.common.objects import batch_of, batched_field, row_builder
from resolvers.execution.documents import _documents
from resolvers.execution.extension import PlannedExecution, encoded
from tests.conftest import Stores, gateway_settings
from tests.support.issuer import TestIssuer
from tests.test_planned_execution import Harness, open_harness

Ctx = Info[RequestContext, None]
CALLS: list[tuple[str, int]] = []  # (field, number of objects) per call of a batch


@dataclasses.dataclass(frozen=True)
class TotalRow:
    amount: int


@strawberry.type(description="A sum written from its row.")
class Total:
    from_row: ClassVar[Any]
    amount: int = strawberry.field(description="The sum.")


Total.from_row = row_builder(Total, amount="amount")


def _checked(info: Ctx, sources: Sequence[Reading]) -> list[Forbidden | None]:
    """The checks of the one definition: a permission for the field, and the caller's own objects."""
    info.context.require(Permission.MANAGE_WORKFLOWS)
    own = info.context.principal.organization.enterprise_id
    return [None if s.owner == own else Forbidden(f"reading {s.raw} is not yours") for s in sources]


@strawberry.type(description="A reading of one organization.")
class Reading:
    raw: int = strawberry.field(description="The reading.")
    owner: strawberry.Private[str]

    @batched_field(int | None, description="The reading times a factor, for workflow managers.")
    async def scaled(
        sources: Sequence[Reading],
        info: Ctx,
        factor: Annotated[int, strawberry.argument(description="Multiplier.")] = 2,
    ) -> list[int | Exception]:
        CALLS.append(("scaled", len(sources)))
        refused = _checked(info, sources)
        return [r or s.raw * factor for s, r in zip(sources, refused, strict=True)]

    @batched_field(Total, rows=Total.from_row, description="The reading plus an amount, for workflow managers.")
    async def total(sources: Sequence[Reading], info: Ctx, plus: int) -> list[TotalRow | Exception]:
        CALLS.append(("total", len(sources)))
        refused = _checked(info, sources)
        return [r or TotalRow(s.raw + plus) for s, r in zip(sources, refused, strict=True)]


@strawberry.type
class Query:
    @strawberry.field(description="Three readings: two of the caller's organization, one of another.")
    def readings(self, info: Ctx) -> list[Reading | None]:
        own = info.context.principal.organization.enterprise_id
        return [Reading(raw=1, owner=own), Reading(raw=2, owner="someone-else"), Reading(raw=3, owner=own)]


SCHEMA = strawberry.Schema(query=Query, extensions=[PlannedExecution])
QUERY = "{ readings { raw scaled(factor: 10) total(plus: 5) { amount } } }"


@pytest.fixture
async def harness(seeded: Stores, issuer: TestIssuer) -> AsyncIterator[Harness]:
    async with open_harness(gateway_settings(seeded, issuer), issuer) as opened:
        yield opened


async def _answer(harness: Harness, principal: Principal, executor: str) -> tuple[dict[str, Any], list[int]]:
    """The encoded answer of `QUERY` with one executor, and the sizes of the batch calls it made."""
    org = principal.organization
    context = RequestContext(
        principal=principal,
        settings=harness.gateway.settings.with_overrides(executor=executor),
        _mongo=harness.gateway.mongo.tenant(org.enterprise_id),
        _postgres=None,
        trace=StoreTrace(),
        request_id=f"one-definition-{executor}",
        services=harness.gateway.services,
    )
    CALLS.clear()
    try:
        result = await SCHEMA.execute(QUERY, context_value=context)
    finally:
        await context.close()
    return json.loads(encoded(result)), [n for _, n in CALLS]  # type: ignore[arg-type]


def test_the_derived_resolver_shows_the_batch_arguments() -> None:
    sdl = SCHEMA.as_str()
    assert '  """The reading times a factor, for workflow managers."""\n' in sdl
    assert '    """Multiplier."""\n    factor: Int! = 2\n  ): Int\n' in sdl
    assert "  total(plus: Int!): Total!\n" in sdl
    # The planned executor finds the batch from the resolver the class holds.
    assert batch_of(Reading.scaled) is not None and batch_of(Reading.total) is not None


async def test_a_check_in_the_definition_refuses_alike_on_both_executors(harness: Harness) -> None:
    viewer, owner = harness.principals[0], harness.principals[2]
    assert "viewer" in viewer.roles and "owner" in owner.roles
    # The owner may use both fields, on the objects of their organization only.
    standard, standard_calls = await _answer(harness, owner, "standard")
    planned, planned_calls = await _answer(harness, owner, "planned")
    assert planned == standard
    assert standard_calls == [1] * 6 and planned_calls == [3, 3]  # per object, and once per level
    readings = standard["data"]["readings"]
    assert readings[0] == {"raw": 1, "scaled": 10, "total": {"amount": 6}}
    assert readings[1] is None and readings[2] == {"raw": 3, "scaled": 30, "total": {"amount": 8}}
    assert [(e["path"], e["message"], e["original"]) for e in standard["errors"]] == [
        (["readings", 1, "scaled"], "reading 2 is not yours", "Forbidden"),
        (["readings", 1, "total"], "reading 2 is not yours", "Forbidden"),
    ]
    # A viewer lacks the permission: every object's fields are refused, by both executors alike.
    standard, _ = await _answer(harness, viewer, "standard")
    planned, planned_calls = await _answer(harness, viewer, "planned")
    assert planned == standard and planned_calls == [3, 3]
    assert standard["data"] == {"readings": [None, None, None]}
    assert len(standard["errors"]) == 6
    assert {(e["extensions"]["code"], e["original"]) for e in standard["errors"]} == {("FORBIDDEN", "Forbidden")}
    assert all("workflows" in e["message"] for e in standard["errors"])


async def test_connection_types_declare_the_fields_that_read_no_rows(harness: Harness) -> None:
    owner = harness.principals[2]
    query = (
        "{ organization { campaigns(first: 3) { totalCount pageInfo { hasNextPage } "
        "countsByStatus { status count } edges { node { name } } } } }"
    )
    org = owner.organization
    context = RequestContext(
        principal=owner,
        settings=harness.gateway.settings.with_overrides(executor="planned"),
        _mongo=harness.gateway.mongo.tenant(org.enterprise_id),
        _postgres=harness.gateway.postgres.reader(org.brain_id) if org.brain_id else None,
        trace=StoreTrace(),
        request_id="fields-without-rows",
        services=harness.gateway.services,
    )
    from resolvers.schema import schema

    try:
        result = await schema.execute(query, context_value=context)
    finally:
        await context.close()
    assert result.errors is None and result.data is not None
    assert len(result.data["organization"]["campaigns"]["edges"]) == 3
    plan = next(p for (_, text, _), p in _documents.items() if text == query)
    assert plan is not None
    organization = next(iter(plan.roots.values())).fields[0].completion.plans["Organization"]
    campaigns = organization.fields[0].completion.plans["CampaignConnection"]
    # Counts and page info beside the edges: the page still reads only the column the edges use.
    assert campaigns.row_fields == {"name"}
