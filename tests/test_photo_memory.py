"""Big photos sent at once on a real server: memory rises a little and comes back.

A flat 7000×7000 PNG weighs ~150 KB on the wire but 147 MB once decoded; four
of them at once used to grow the server by more than 2 GB, never returned.
"""

from __future__ import annotations

import asyncio
import io
import time
from functools import cache

import httpx
import pytest
from PIL import Image

from tests.factories import PASSWORD, field_error
from tests.factories_posts import jpeg_bytes, neighbours
from tests.server import ServerProcess

pytestmark = pytest.mark.server

MB = 1024 * 1024


@cache
def flat_png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (90, 140, 200, 255)[: len(mode)]).save(out, "PNG", compress_level=9)
    return out.getvalue()


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs sets the peak (VmHWM) back to the current RSS.
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


async def _login(base: str, user) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=120)
    await client.get("/login")
    answer = await client.post(
        "/login", data={"_csrf_token": client.cookies["csrftoken"], "email": user.email, "password": PASSWORD}
    )
    assert answer.status_code == 303
    return client


async def _publish(client: httpx.AsyncClient, title: str, photo: tuple[str, bytes, str]) -> httpx.Response:
    return await client.post(
        "/posts",
        data={"_csrf_token": client.cookies["csrftoken"], "kind": "give", "title": title, "body": "À venir chercher"},
        files=[("photos", photo)],
    )


async def _measured(server: ServerProcess, *requests):
    """The answers to requests sent at the same moment, with the server's RSS
    at the start, its peak growth and where it settles, in bytes."""
    pid = server.proc.pid
    start = _status(pid, "VmRSS")
    _reset_peak(pid)
    answers = await asyncio.gather(*requests)
    peak = _status(pid, "VmHWM") - start
    # Freed memory may take a moment to go back to the system.
    deadline = time.monotonic() + 5
    while (after := _status(pid, "VmRSS") - start) > 150 * MB and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return answers, start, peak, after


async def test_four_huge_photos_at_once_leave_the_server_memory_bounded():
    _neighbourhood, (claire,) = await neighbours(1)
    server = ServerProcess()
    client = await _login(server.url, claire)
    try:
        # One ordinary photo first, so that the codecs are loaded before measuring.
        warm = await _publish(client, "Chaise", ("chaise.jpg", jpeg_bytes(1600, 1200), "image/jpeg"))
        assert warm.status_code == 303

        huge = ("affiche.png", flat_png(7000, 7000), "image/png")
        assert len(huge[1]) < 200 * 1024
        answers, start, peak, after = await _measured(
            server, *(_publish(client, f"Affiche {i}", huge) for i in range(4))
        )
        print(
            f"\n4 × 7000×7000 PNG ({len(huge[1]) // 1024} KB each): RSS at start {start / MB:.0f} MB, "
            f"peak growth {peak / MB:.0f} MB, {after / MB:+.0f} MB after"
        )
        assert [a.status_code for a in answers] == [422] * 4
        for answer in answers:
            assert "Cette photo est trop grande" in field_error(answer.text, "photos")
        assert peak <= 300 * MB and after <= 150 * MB

        # The biggest photos still accepted, with transparency (4 bytes a pixel): all four go through.
        largest = ("plan.png", flat_png(6000, 4000, "RGBA"), "image/png")
        answers, start, peak, after = await _measured(
            server, *(_publish(client, f"Plan {i}", largest) for i in range(4))
        )
        print(
            f"4 × 6000×4000 RGBA PNG accepted: RSS at start {start / MB:.0f} MB, "
            f"peak growth {peak / MB:.0f} MB, {after / MB:+.0f} MB after"
        )
        assert [a.status_code for a in answers] == [303] * 4
        assert peak <= 300 * MB and after <= 150 * MB
    finally:
        await client.aclose()
        server.stop()


async def test_a_60_mb_photo_is_refused_next_to_the_field_without_being_held_in_memory():
    _neighbourhood, (claire,) = await neighbours(1)
    server = ServerProcess()
    client = await _login(server.url, claire)
    try:
        # The same form once before, so that its template is compiled before measuring.
        small = await _publish(client, "Armoire", ("armoire.jpg", b"\xff\xd8\xff" + bytes(16 * MB), "image/jpeg"))
        assert small.status_code == 422
        huge = ("armoire.jpg", b"\xff\xd8\xff" + bytes(60 * MB), "image/jpeg")
        (answer,), start, peak, after = await _measured(server, _publish(client, "Armoire normande", huge))
        print(
            f"\n60 MB photo: RSS at start {start / MB:.0f} MB, peak growth {peak / MB:.0f} MB, {after / MB:+.0f} MB after"
        )
        assert answer.status_code == 422
        assert field_error(answer.text, "photos") == "« armoire.jpg » dépasse 15 Mo."
        assert 'value="Armoire normande"' in answer.text
        assert peak <= 16 * MB
    finally:
        await client.aclose()
        server.stop()
