"""ListLoader: one fetch per turn of the event loop, values cached, keys in flight not fetched twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.data.batches import ListLoader


class Source:
    """A fetch function that records what it was asked and can be held or made to fail."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.failure: Exception | None = None

    async def fetch(self, keys: Sequence[str]) -> list[str]:
        self.asked.append(list(keys))
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return [key.upper() for key in keys]


async def test_calls_of_one_turn_share_one_fetch_and_values_are_cached() -> None:
    source = Source()
    loader = ListLoader(source.fetch)
    first, second, single = await asyncio.gather(
        loader.load_many(["a", "b"]), loader.load_many(["b", "c", "a"]), loader.load("d")
    )
    assert (first, second, single) == (["A", "B"], ["B", "C", "A"], "D")
    assert source.asked == [["a", "b", "c", "d"]]  # each key once, in first-asked order
    assert await loader.load_many(["c", "a"]) == ["C", "A"]
    assert await loader.load_many([]) == []
    assert len(source.asked) == 1  # all cached


async def test_a_key_in_flight_is_awaited_not_fetched_again() -> None:
    source = Source()
    source.gate = asyncio.Event()
    loader = ListLoader(source.fetch)
    early = loader.load_many(["a", "b"])
    await asyncio.sleep(0)  # the first batch is dispatched and waits at the gate
    await asyncio.sleep(0)
    late = loader.load_many(["b", "c"])
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    source.gate.set()
    assert await early == ["A", "B"] and await late == ["B", "C"]
    assert source.asked == [["a", "b"], ["c"]]


async def test_a_failed_fetch_fails_every_waiting_call_and_is_not_cached() -> None:
    source = Source()
    source.gate = asyncio.Event()
    source.failure = RuntimeError("store down")
    loader = ListLoader(source.fetch)
    early = loader.load_many(["a"])
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    late = loader.load_many(["a", "b"])  # waits on the failing batch for "a"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    source.gate.set()
    for call in (early, late):
        with pytest.raises(RuntimeError, match="store down"):
            await call
    source.failure, source.gate = None, None
    assert await loader.load_many(["a"]) == ["A"]  # asked again, not the cached failure
    assert source.asked[-1] == ["a"]


async def test_a_fetch_answering_the_wrong_count_fails_the_calls() -> None:
    async def short(keys: Sequence[str]) -> list[str]:
        return ["x"]

    loader = ListLoader(short)
    with pytest.raises(TypeError, match="1 values for 2 keys"):
        await loader.load_many(["a", "b"])


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    source = Source()
    source.gate = asyncio.Event()
    loader = ListLoader(source.fetch)
    cancelled = asyncio.ensure_future(loader.load_many(["a"]))
    kept = loader.load_many(["a", "b"])
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    source.gate.set()
    assert await kept == ["A", "B"]
    assert cancelled.cancelled()
