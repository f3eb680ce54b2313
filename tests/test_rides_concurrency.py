"""Thirty neighbours click « Prendre une place » at the same moment for the
last two seats of a ride, against a real server process: exactly two get one,
the others read that the ride is full."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.accounts.sessions import start_session
from app.rides import queries
from app.rides.tables import RideSeat
from tests.factories import make_user
from tests.factories_posts import neighbours
from tests.factories_rides import make_ride
from tests.server import ServerProcess

pytestmark = pytest.mark.server


async def test_thirty_simultaneous_clicks_for_the_last_two_seats():
    neighbourhood, (driver, early) = await neighbours(2)
    post_id = await make_ride(driver, seats=3, title="Gare de Dijon")
    ride = await queries.for_post(post_id)
    await queries.take_seat(ride["id"], early.id)
    people = [await make_user(neighbourhood, first_name="Voisin", last_name=f"N{i}") for i in range(30)]
    tokens = [await start_session(p.id) for p in people]
    server = ServerProcess()
    try:

        async def click(n: int, token: str) -> tuple[int, str]:
            headers = {"X-Forwarded-For": f"10.2.{n // 200}.{n % 200 + 1}", "HX-Request": "true"}
            async with httpx.AsyncClient(
                base_url=server.url, headers=headers, cookies={"session": token}, timeout=60
            ) as c:
                assert (await c.get(f"/posts/{post_id}")).status_code == 200
                response = await c.post(f"/posts/{post_id}/seat", data={"_csrf_token": c.cookies["csrftoken"]})
                return response.status_code, response.text

        answers = await asyncio.gather(*(click(n, t) for n, t in enumerate(tokens)))
        log = server.output()
        assert "database is locked" not in log and "Traceback" not in log
    finally:
        server.stop()
    taken = [text for status, text in answers if status == 200]
    full = [text for status, text in answers if status == 422]
    assert (len(taken), len(full)) == (2, 28)
    assert all("Vous avez une place dans ce covoiturage." in text for text in taken)
    assert all("Ce covoiturage est complet." in text for text in full)
    assert await RideSeat.count().where(RideSeat.ride == ride["id"]) == 3
    assert (await queries.for_post(post_id))["seats_taken"] == 3
