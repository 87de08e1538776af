"""Objects built per row: the compiled builders and enum readers give what the class and enum calls give."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
import strawberry
from bson import ObjectId

from gateway.data.brain.metrics import MetricsRow
from gateway.data.ids import to_global_id
from resolvers.brain.enums import DeliveryStatus, delivery_status
from resolvers.brain.metric_types import Performance
from resolvers.brain.types import Creative
from resolvers.common.enums import ActorKind
from resolvers.common.objects import builder, composition, is_total, partial_builder, row_mapping
from resolvers.common.relay import Edge, node_ids
from resolvers.common.scalars import Money
from resolvers.enterprise.agentkit import Agent, ScheduledWorkflow, Workflow, WorkflowExecution
from resolvers.enterprise.enums import WorkflowStatus
from resolvers.enterprise.types import AuditLog


def test_enum_reader_is_the_enum_call() -> None:
    for member in DeliveryStatus:
        assert delivery_status(member.value) is DeliveryStatus(member.value)
    with pytest.raises(ValueError, match="'deleted' is not a valid DeliveryStatus"):
        delivery_status("deleted")


def test_builder_stores_what_init_stores() -> None:
    now = dt.datetime.now(dt.UTC)
    fields: dict[str, Any] = {
        "id": strawberry.ID("Q3JlYXRpdmU6MQ"),
        "raw_id": uuid4(),
        "campaign_id": uuid4(),
        "name": "Spring",
        "external_id": "x-1",
        "format": None,
        "status": DeliveryStatus.ACTIVE,
        "headline": None,
        "created_at": now,
        "updated_at": now,
    }
    built, called = builder(Creative)(**fields), Creative(**fields)
    assert type(built) is Creative and vars(built) == vars(called)
    money = Money.of(Decimal("12.5"), "USD ")
    assert type(money) is Money and vars(money) == {"amount": "12.50", "currency": "USD"}
    with pytest.raises(TypeError):
        builder(Creative)(**{**fields, "colour": "red"})


def test_builder_keeps_defaults_and_leaves_factories_to_the_class() -> None:
    @dataclasses.dataclass
    class Defaults:
        a: int
        b: str = "b"

    @dataclasses.dataclass
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    assert vars(builder(Defaults)(a=1)) == {"a": 1, "b": "b"}
    assert builder(Factory) is Factory
    assert builder(Edge) is not Edge


def test_money_of_is_what_its_composition_declares() -> None:
    # The planned executor writes a Money derived by `Money.of` from its declared fields: they must agree.
    composed = composition(Money.of)
    assert composed is not None and composed.cls is Money
    for amount, currency in [(Decimal("12.5"), "USD "), (0, "EUR"), (Decimal("-0.004"), "JPY"), (3.25, " GBP")]:
        made = {
            name: (f(args) if f else args)
            for name, (f, i) in composed.fields.items()
            for args in [(amount, currency)[i]]
        }
        assert made == vars(Money.of(amount, currency))


def test_performance_from_a_row_keeps_null_ratios_and_one_currency() -> None:
    row = MetricsRow("USD", 1000, 0, Decimal("12.50"), 0, Decimal("0.00"), None, None, None, None)
    built = Performance.from_row(row)
    assert (built.ctr, built.cpc, built.cpa, built.roas) == (None, None, None, None)  # zero denominators
    assert vars(built.spend) == {"amount": "12.50", "currency": "USD"} and built.currency == "USD"
    row = row._replace(currency="EUR", clicks=10, cpc=Decimal("1.25"), roas=2.0)
    built = Performance.from_row(row)
    assert vars(built.cpc) == {"amount": "1.25", "currency": "EUR"} and built.roas == 2.0
    mapping = row_mapping(Performance)
    assert mapping is not None and mapping.fields["spend"].columns == ("spend", "currency")


def test_documents_are_read_as_the_hand_written_builders_read_them() -> None:
    oid = ObjectId()
    now = dt.datetime.now(dt.UTC)
    bare = Agent.from_doc({"_id": oid, "name": "a", "kind": "monitor", "model": "m"})
    assert (bare.config, bare.enabled, bare.created_at) == ({}, True, None)  # defaults of missing keys
    assert bare.id == to_global_id("Agent", oid)
    schedule = ScheduledWorkflow.from_doc({"_id": oid, "cron": "0 6 * * *", "timezone": None, "enabled": 0})
    assert (schedule.timezone, schedule.enabled, schedule.workflow_id) == ("UTC", False, None)
    workflow = Workflow.from_doc({"_id": oid, "name": "w", "status": "active", "steps": [{"action": "notify"}]})
    assert (workflow.raw_id, workflow.version, workflow.status) == (str(oid), 1, WorkflowStatus.ACTIVE)
    assert [vars(step) for step in workflow.steps] == [{"agent_id": None, "action": "notify", "params": {}}]
    run = WorkflowExecution.from_doc({"_id": oid, "status": "failed", "triggered_by": "", "input": {"x": 1}})
    assert (run.triggered_by, run.input, run.output, run.started_at) == (None, {"x": 1}, None, None)
    entry = AuditLog.from_doc({"_id": oid, "action": "x", "event_id": "e", "at": now, "actor": None})
    assert (vars(entry.actor), entry.target_ref) == ({"kind": ActorKind.SYSTEM, "id": "", "email": None}, None)
    with pytest.raises(KeyError):
        Agent.from_doc({"_id": oid, "kind": "monitor", "model": "m"})  # a key the type requires
    with pytest.raises(ValueError, match="is not a valid WorkflowStatus"):
        Workflow.from_doc({"_id": oid, "name": "w", "status": "deleted"})


def test_a_partial_builder_sets_only_the_fields_named() -> None:
    mapping = row_mapping(Creative)
    assert mapping is not None
    build = partial_builder(mapping, frozenset({"raw_id"}))
    assert partial_builder(mapping, frozenset({"raw_id"})) is build  # compiled once
    record = uuid4()
    built = build(_CreativeRow(record))
    assert type(built) is Creative and vars(built) == {"raw_id": record}
    with pytest.raises(AssertionError):
        partial_builder(mapping, frozenset({"colour"}))


class _CreativeRow:
    def __init__(self, id: object) -> None:
        self.id = id


def test_total_functions_are_known() -> None:
    assert is_total(node_ids("Creative")) and is_total(str) and not is_total(int)
    assert not is_total(lambda value: value)
