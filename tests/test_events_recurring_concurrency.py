"""Twenty neighbours click "Je participe" at once for the last place of one
date of a weekly event, against a real server process: one seat, nineteen
on that date's waiting list, the other dates untouched."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from app.accounts.sessions import start_session
from app.events import queries
from app.events.recurrence import Rule
from app.events.tables import Occurrence, Signup
from tests.factories import make_user
from tests.factories_posts import neighbours
from tests.server import ServerProcess

pytestmark = pytest.mark.server


async def test_the_last_place_of_one_date_under_twenty_simultaneous_clicks():
    neighbourhood, (organiser, early) = await neighbours(2)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=5)
    post_id = await queries.create_event(
        author=organiser,
        title="Course à pied du jeudi",
        body="Départ devant la mairie.",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        place="Mairie",
        capacity=2,
        photos=[],
        rule=Rule("weekly", count=3),
    )
    event = await queries.for_post(post_id)
    first, second, third = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.id)
    await queries.sign_up(event["id"], early.id, occurrence_id=second["id"])  # one place left on that date
    people = [await make_user(neighbourhood, first_name="Voisin", last_name=f"R{i}") for i in range(20)]
    tokens = [await start_session(p.id) for p in people]
    server = ServerProcess()
    try:

        async def click(n: int, token: str) -> int:
            headers = {"X-Forwarded-For": f"10.2.{n // 200}.{n % 200 + 1}"}
            async with httpx.AsyncClient(
                base_url=server.url, headers=headers, cookies={"session": token}, timeout=60
            ) as c:
                assert (await c.get(f"/posts/{post_id}")).status_code == 200
                data = {"_csrf_token": c.cookies["csrftoken"], "occurrence": str(second["id"])}
                return (await c.post(f"/posts/{post_id}/signup", data=data)).status_code

        statuses = await asyncio.gather(*(click(n, t) for n, t in enumerate(tokens)))
        assert statuses == [303] * 20
        log = server.output()
        assert "database is locked" not in log and "Traceback" not in log
    finally:
        server.stop()
    rows = await Signup.select().where(Signup.occurrence == second["id"])
    assert sorted(r["status"] for r in rows) == ["going"] * 2 + ["waitlist"] * 19
    assert sorted(r["position"] for r in rows if r["status"] == "waitlist") == list(range(1, 20))
    counts = {
        o["id"]: (o["going_count"], o["waitlist_count"])
        for o in await Occurrence.select().where(Occurrence.event == event["id"])
    }
    assert counts == {first["id"]: (0, 0), second["id"]: (2, 19), third["id"]: (0, 0)}
