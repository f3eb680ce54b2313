"""100 neighbours click "Je participe" at the same moment for 10 places,
against a real server process: exactly 10 seats, 90 on the waiting list."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.accounts.sessions import start_session
from app.events import queries
from app.events.tables import Signup
from tests.factories import make_user
from tests.factories_events import make_event
from tests.factories_posts import neighbours
from tests.server import ServerProcess

pytestmark = pytest.mark.server


async def test_hundred_simultaneous_signups_for_ten_places():
    neighbourhood, (organiser,) = await neighbours(1)
    post_id = await make_event(organiser, capacity=10, title="Atelier vélo")
    people = [await make_user(neighbourhood, first_name="Voisin", last_name=f"N{i}") for i in range(100)]
    tokens = [await start_session(p.id) for p in people]
    server = ServerProcess()
    try:

        async def click(n: int, token: str) -> int:
            # Each person from their own address and with their own session.
            headers = {"X-Forwarded-For": f"10.1.{n // 200}.{n % 200 + 1}"}
            async with httpx.AsyncClient(
                base_url=server.url, headers=headers, cookies={"session": token}, timeout=60
            ) as c:
                page = await c.get(f"/posts/{post_id}")
                assert page.status_code == 200
                csrf = c.cookies["csrftoken"]
                response = await c.post(f"/posts/{post_id}/signup", data={"_csrf_token": csrf})
                return response.status_code

        statuses = await asyncio.gather(*(click(n, t) for n, t in enumerate(tokens)))
        assert statuses == [303] * 100
        log = server.output()
        assert "database is locked" not in log and "Traceback" not in log
    finally:
        server.stop()
    event = await queries.for_post(post_id)
    rows = await Signup.select().where(Signup.event == event["id"])
    going = [r for r in rows if r["status"] == "going"]
    waiting = [r for r in rows if r["status"] == "waitlist"]
    assert (len(going), len(waiting)) == (10, 90)
    assert sorted(r["position"] for r in waiting) == list(range(1, 91))
    assert (event["going_count"], event["waitlist_count"]) == (10, 90)
