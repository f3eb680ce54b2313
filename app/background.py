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
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that
        # arrives as `wake` is set, and the loop would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await wake.wait()


@contextlib.asynccontextmanager
async def running(loops: Iterable[Coroutine[Any, Any, None]], *, stop_within: float = 10.0) -> AsyncIterator[None]:
    """The loops run as tasks while the block runs; at its end they are
    cancelled and awaited, so that nothing is left half-done behind. A loop
    deep in a library that swallowed the cancellation is cancelled again; one
    still running after `stop_within` seconds is named in the log and left, so
    that a service manager's stop never waits for ever."""
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield
    finally:
        deadline = asyncio.get_running_loop().time() + stop_within
        pending = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.error(
                    "background work did not stop: %s", ", ".join(sorted(t.get_coro().__qualname__ for t in pending))
                )
                break
            _done, pending = await asyncio.wait(pending, timeout=min(left, 0.5))
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("background work ended with an error", exc_info=task.exception())
