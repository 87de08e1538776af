"""A per-request loader for keys asked a whole list at a time: one future per call, not per key.

`aiodataloader.DataLoader` makes a future for every key, resolves each one, and
gathers them back for `load_many`: for a planned level asking the totals of a
thousand creatives at once, that bookkeeping cost more than the rows. `ListLoader`
keeps what the resolvers rely on — every call made in the same turn of the event
loop is answered by one call of the batch function, values are cached for the
request, a key being fetched is not fetched again, and a failed batch fails
every call that waited on it with its exception — with one future per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


class ListLoader(Generic[K, V]):
    """Values by key for one request, every call of one turn of the event loop in one `fetch`."""

    def __init__(self, fetch: Fetch[K, V]) -> None:
        self._fetch = fetch
        self._cache: dict[K, V] = {}
        # Keys of batches not answered yet, with the future their batch completes.
        self._fetching: dict[K, asyncio.Future[None]] = {}
        self._queue: list[tuple[Sequence[K], asyncio.Future[list[V]]]] = []

    def load(self, key: K) -> Awaitable[V]:
        return _first(self.load_many([key]))

    def load_many(self, keys: Sequence[K]) -> asyncio.Future[list[V]]:
        """The values of `keys`, in order (one future for the whole list); values are returned as fetched."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[V]] = loop.create_future()
        cache = self._cache
        if all(key in cache for key in keys):
            future.set_result([cache[key] for key in keys])
            return future
        if not self._queue:
            loop.call_soon(self._dispatch)
        self._queue.append((keys, future))
        return future

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        cache, fetching = self._cache, self._fetching
        waits: dict[int, asyncio.Future[None]] = {}
        wanted: dict[K, None] = {}
        for keys, _ in queue:
            for key in keys:
                if key in cache:
                    continue
                running = fetching.get(key)
                if running is not None:
                    waits[id(running)] = running
                else:
                    wanted[key] = None
        batch: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in wanted:
            fetching[key] = batch
        task = asyncio.ensure_future(self._run(list(wanted), list(waits.values()), batch, queue))
        task.add_done_callback(_quiet)

    async def _run(
        self,
        keys: list[K],
        waits: list[asyncio.Future[None]],
        batch: asyncio.Future[None],
        queue: list[tuple[Sequence[K], asyncio.Future[list[V]]]],
    ) -> None:
        try:
            if keys:
                values = await self._fetch(keys)
                if len(values) != len(keys):
                    raise TypeError(f"a batch answered {len(values)} values for {len(keys)} keys")
                self._cache.update(zip(keys, values, strict=True))
            batch.set_result(None)
            for running in waits:
                await running  # its failure is these calls' failure too
        except asyncio.CancelledError:
            batch.cancel()
            for _, future in queue:
                future.cancel()
            raise
        except Exception as exc:
            if not batch.done():
                batch.set_exception(exc)
                batch.exception()  # retrieved: only the calls waiting on it report it
            for _, future in queue:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            for key in keys:
                self._fetching.pop(key, None)
        cache = self._cache
        for wanted, future in queue:
            if not future.done():
                future.set_result([cache[key] for key in wanted])


async def _first(values: Awaitable[list[V]]) -> V:
    return (await values)[0]


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
