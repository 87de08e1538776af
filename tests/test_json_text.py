"""JSON text written by PostgreSQL: each piece is what the gateway writes, or says it is not.

Evaluated on the real server: a value's text parsed by orjson and written again must be
byte for byte what the gateway's own path writes for the same value; where it could not be,
the piece's `exact` condition is false (the gateway then reads the rows itself).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest

from gateway.data.brain import json_text
from gateway.data.ids import to_global_id
from resolvers.common.scalars import decimal_string
from tests.conftest import Stores


@pytest.fixture
async def pg(seeded: Stores) -> Any:
    conn = await asyncpg.connect(seeded.database_url)
    yield conn
    await conn.close()


async def written(pg: Any, piece: json_text.Json, values: list[Any], sql_type: str) -> list[tuple[Any, bool]]:
    """(parsed JSON text, exact) of `piece` over a column `x` holding each of `values`."""
    rows = await pg.fetch(
        f"SELECT {piece.text} AS json, {piece.exact} AS exact FROM unnest($1::{sql_type}[]) WITH ORDINALITY v(x, i) "
        "ORDER BY i",
        values,
    )
    return [(None if r["json"] is None else orjson.loads(r["json"]), r["exact"]) for r in rows]


async def test_floats_are_written_as_orjson_writes_them_or_not_exactly(pg: Any) -> None:
    rng = random.Random(7)
    ratios = [round(rng.uniform(0, 10), rng.choice([0, 1, 4, 6])) for _ in range(2000)]
    ratios += [0.0, 2.0, 100.0, 0.5, 1e-05, 3e-05, 0.0001, 0.000123, 123456.125, -1.25, 1e-06, 5e-06, 1e16, 0.1 + 0.2]
    for value, (parsed, exact) in zip(
        ratios, await written(pg, json_text.floating("x", False), ratios, "float8"), strict=True
    ):
        if exact:
            assert orjson.dumps(parsed) == orjson.dumps(value), value
        else:  # outside what the statement knows how to write: the gateway writes it
            assert abs(value) < 1e-5 or abs(value) >= 1e9 or value != round(value, 6), value


async def test_integers_amounts_and_strings(pg: Any) -> None:
    found = await written(pg, json_text.integer("x", True), [1, -(2**31), 2**31 - 1, 2**31, None], "bigint")
    assert found == [(1, True), (-(2**31), True), (2**31 - 1, True), (2**31, False), (None, True)]
    amounts = [Decimal("12.50"), Decimal("0"), Decimal("-3.10"), Decimal("1250"), Decimal("0.125")]
    found = await written(pg, json_text.amount("x", False), amounts, "numeric")
    assert [p for p, e in found if e] == [decimal_string(a) for a in amounts[:4]] and not found[4][1]
    texts = ['a"b\\c', "tab\there", "line\nbreak", "\x01\x1f", "é ü 漢字 😀", "\u2028", "", "plain"]
    for text, (parsed, exact) in zip(
        texts, await written(pg, json_text.string("x", False), texts, "text"), strict=True
    ):
        assert parsed == text and exact
    currencies = ["USD", " USD", "USD\t", "", "U S"]
    found = await written(pg, json_text.stripped("x", False), currencies, "text")
    assert [(p, e) for p, e in found] == [("USD", True), (" USD", False), ("USD\t", False), ("", True), ("U S", True)]
    found = await written(pg, json_text.string("x", False), [None], "text")
    assert found == [(None, False)]  # a NULL where the field is non-null: the gateway raises, not the statement


async def test_global_ids_enums_and_objects(pg: Any) -> None:
    ids = [uuid4() for _ in range(200)] + [
        UUID(int=0),
        UUID(int=2**128 - 1),
        UUID("99999999-9999-9999-9999-999999999999"),
    ]
    # Prefixes of whole 3-byte groups ("Creative:") and not ("Channel:", "Workflow:" is 9 again), and
    # ids that are not UUIDs (bigint, text of any length): every one is the gateway's codec.
    for type_name in ("Creative", "Campaign", "Channel", "Org", "Workflow"):
        found = await written(pg, json_text.global_id(type_name, "x", False), ids, "uuid")
        assert [p for p, _ in found] == [to_global_id(type_name, i) for i in ids]
    numbers = [0, 7, 12345, 2**62, -5]
    found = await written(pg, json_text.global_id("Creative", "x", False), numbers, "bigint")
    assert [p for p, _ in found] == [to_global_id("Creative", n) for n in numbers]
    texts = ["", "a", "ab", "abc", "+/?>~~~", "x" * 100, "é漢😀"]
    found = await written(pg, json_text.global_id("Creative", "x", False), texts, "text")
    assert [p for p, _ in found] == [to_global_id("Creative", t) for t in texts]
    piece = json_text.enum("x", {"active": "ACTIVE", "paused": "PAUSED"}, True)
    found = await written(pg, piece, ["active", "paused", None, "deleted"], "text")
    assert found == [("ACTIVE", True), ("PAUSED", True), (None, True), (None, False)]
    shape = json_text.obj([("__typename", json_text.typename("Money")), ("a", json_text.amount("x", False))])
    money = json_text.unless_null(["x"], shape, nullable=True)
    found = await written(pg, money, [Decimal("1.50"), None], "numeric")
    assert found == [({"__typename": "Money", "a": "1.50"}, True), (None, True)]
    # Adjacent literals are one: PostgreSQL folds only a chain's leading ones.
    assert json_text.obj([("a", json_text.typename("X")), ("b", json_text.obj([]))]).text == """'{"a":"X","b":{}}'"""
    with pytest.raises(ValueError, match="not a GraphQL name"):
        json_text.obj([("a'); DROP TABLE x; --", json_text.typename("Money"))])
