"""Rows a busy page reads on every view, kept a few seconds per process.

The feed's quartier, its urgent alerts and its newest arrivals are the same
for every neighbour opening it: one read per few seconds instead of one per
view. A change made by this process shows at once (`forget`, called by the
code that changes it); another process shows it at most `seconds` late. What
must be exact at every read (an alert's expiry) is checked by the caller on
what it gets back.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    def __init__(self, seconds: float = 5.0, size: int = 5000) -> None:
        self.seconds = seconds
        self.size = size
        self._kept: dict[Hashable, tuple[float, T]] = {}

    async def get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The value under `key`, read again when older than `seconds`. None
        is not kept (a row not found yet may be created in a moment)."""
        now = time.monotonic()
        hit = self._kept.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = await read()
        if value is not None:
            if len(self._kept) >= self.size:
                # A bounded memory: whatever is dropped is read again once.
                self._kept.clear()
            self._kept[key] = (now, value)
        return value

    def forget(self, *keys: Hashable) -> None:
        for key in keys:
            self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()
