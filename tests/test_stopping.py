"""The operator stops the service (systemd's SIGTERM, an upgrade restarting
processes one by one): the background work ends and the process exits, even
when the stop lands at an awkward moment or a loop will not end."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.background import periodic, running


async def test_a_push_loop_woken_at_the_moment_the_service_stops_still_stops():
    # A reply is queued (the loop is woken) just as the stop arrives: Python
    # 3.11's asyncio.wait_for lost such a stop, and the process hung for ever.
    for _ in range(50):
        wake = asyncio.Event()
        rounds = 0

        async def send_due():
            nonlocal rounds
            rounds += 1

        loop = asyncio.create_task(periodic(60, send_due, wake=wake))
        while rounds == 0:
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # the loop now waits for its wake
        wake.set()
        loop.cancel()
        done, _ = await asyncio.wait([loop], timeout=2)
        assert done == {loop}, "the push loop kept running after the stop"


async def test_the_stop_waits_for_a_loop_that_ignored_the_first_cancellation():
    finished = []

    async def stubborn():
        with contextlib.suppress(asyncio.CancelledError):  # as a library catching too much would
            await asyncio.sleep(3600)
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("cleaned up")

    async with running([stubborn()]):
        await asyncio.sleep(0)
    assert finished == ["cleaned up"]


async def test_a_loop_that_never_stops_is_named_in_the_log_and_the_stop_ends_anyway(caplog):
    released = asyncio.Event()

    async def never_stops():
        while not released.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    started = asyncio.get_running_loop().time()
    with caplog.at_level(logging.ERROR, logger="voisinage.background"):
        async with running([never_stops()], stop_within=1.0):
            await asyncio.sleep(0)
    assert asyncio.get_running_loop().time() - started < 3
    assert "never_stops" in caplog.text
    # Let it end now: the test session's event loop outlives this test.
    released.set()
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__.endswith("never_stops"):
            task.cancel()
            await asyncio.wait([task])
