"""Objects built per row: the compiled builders and enum readers give what the class and enum calls give."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
import strawberry

from resolvers.brain.enums import DeliveryStatus, delivery_status
from resolvers.brain.types import Creative
from resolvers.common.objects import builder
from resolvers.common.relay import Edge
from resolvers.common.scalars import Money


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
