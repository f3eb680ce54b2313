"""The work done apart from requests (sending pushes, reminders, pruning),
inside the server or in `voisinage worker`: one way to repeat a job, one way
to run a set of such loops for as long as a block lasts. app.main lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any

log = logging.getLogger("voisinage.background")


async def periodic(
    interval: float, job: Callable[[], Awaitable[Any]], *, wake: asyncio.Event | None = None, name: str = ""
) -> None:
    """Runs `job` now, then `interval` seconds after each round ends (sooner
    when `wake` is set), until cancelled."""
    while True:
        try:
            await job()
        except Exception:  # noqa: BLE001 - a failed round (database restart…) must not end the loop
            log.exception("%s failed", name or getattr(job, "__qualname__", "background job"))
        if wake is None:
            await asyncio.sleep(interval)
            continue
        wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval)


@contextlib.asynccontextmanager
async def running(loops: Iterable[Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """The loops run as tasks while the block runs; at its end they are
    cancelled, and awaited so that nothing is left half-done behind."""
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
