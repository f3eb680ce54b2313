"""Rows a busy page reads on every view, kept a few seconds per process.

The feed's quartier, its urgent alerts and its newest arrivals are the same
for every neighbour opening it: one read per few seconds instead of one per
view. A change made by this process shows at once (`forget`, called by the
code that changes it); another process shows it at most `seconds` late. What
must be exact at every read (an alert's expiry) is checked by the caller on
what it gets back.

One read at a time per key: when a value is read again, the requests that
ask meanwhile wait for that read instead of each making their own. On
PostgreSQL, the fifty requests of a busy moment each sent the same query the
instant a value grew old, and queued for the pool behind each other: the
feed's p99 at 50 connections was eight times its p50.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
# What a read that failed or was cancelled hands to those waiting for it: they read for themselves.
_FAILED: Any = object()


class OneReadPerKey(Generic[T]):
    """While a key is read, those asking for it too wait for that read
    instead of each making their own (Recent here, and app.db.memory).
    A read that failed or was cancelled leaves its waiters to read for
    themselves; a key forgotten while it is read is read anew by whoever asks
    next, and what the first read brings back is not kept."""

    def __init__(self) -> None:
        self._reading: dict[Hashable, asyncio.Future] = {}

    async def read(self, key: Hashable, read: Callable[[], Awaitable[T]], keep: Callable[[T], None]) -> T:
        """`read()`'s value, or that of the read of `key` under way; `keep`
        is called with the value of a read not forgotten meanwhile."""
        pending = self._reading.get(key)
        if pending is not None:
            value = await asyncio.shield(pending)
            if value is not _FAILED:
                return value
            return await read()
        reading = asyncio.get_running_loop().create_future()
        self._reading[key] = reading
        value = _FAILED
        try:
            value = await read()
        finally:
            reading.set_result(value)
            if self._reading.get(key) is reading:
                del self._reading[key]
                if value is not _FAILED:
                    keep(value)
        return value

    def forget(self, *keys: Hashable) -> None:
        for key in keys:
            self._reading.pop(key, None)

    def clear(self) -> None:
        self._reading.clear()


class Recent(Generic[T]):
    def __init__(self, seconds: float = 5.0, size: int = 5000) -> None:
        self.seconds = seconds
        self.size = size
        self._kept: dict[Hashable, tuple[float, T]] = {}
        self._reads: OneReadPerKey[T] = OneReadPerKey()

    async def get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The value under `key`, read again when older than `seconds`. None
        is not kept (a row not found yet may be created in a moment)."""
        now = time.monotonic()
        hit = self._kept.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]

        def keep(value: T) -> None:
            if value is not None:
                if len(self._kept) >= self.size:
                    # A bounded memory: whatever is dropped is read again once.
                    self._kept.clear()
                self._kept[key] = (now, value)

        return await self._reads.read(key, read, keep)

    def forget(self, *keys: Hashable) -> None:
        for key in keys:
            self._kept.pop(key, None)
        self._reads.forget(*keys)

    def clear(self) -> None:
        self._kept.clear()
        self._reads.clear()
