"""The routes of recurring events × (owner, neighbour, other quartier, anonymous).

A series and its dates do not exist for anyone outside the quartier (404);
only the organiser cancels a date; anonymous visitors are sent to login.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.events import queries
from app.events.recurrence import Rule
from app.events.tables import Occurrence, Signup
from tests.factories import ensure_csrf, login
from tests.factories_posts import neighbours

ROLES = ("owner", "neighbour", "outsider", "anonymous")
LOGIN = "login"

MATRIX = {
    "series page": (200, 200, 404, LOGIN),
    "sign up for a date": (303, 303, 404, LOGIN),
    "sign up for a date (htmx)": (200, 200, 404, LOGIN),
    "withdraw from a date": (303, 303, 404, LOGIN),
    "cancel a date": (303, 404, 404, LOGIN),
    "cancel a date (htmx)": (200, 404, 404, LOGIN),
    "series .ics": (200, 200, 404, LOGIN),
}


async def _world():
    neighbourhood, (owner, neighbour) = await neighbours(2)
    _elsewhere, (outsider,) = await neighbours(1)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    post_id = await queries.create_event(
        author=owner,
        title="Marche nordique du samedi",
        body="Secret du quartier",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Parc de la Colombière",
        capacity=5,
        photos=[],
        rule=Rule("weekly", count=4),
    )
    event = await queries.for_post(post_id)
    first = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.starts_at).first()
    return {
        "owner": owner,
        "neighbour": neighbour,
        "outsider": outsider,
        "post": post_id,
        "event": event["id"],
        "date": first["id"],
    }


async def _call(client, route, w):
    token = client.cookies.get("csrftoken", "")
    p, d = w["post"], str(w["date"])
    form = {"_csrf_token": token, "occurrence": d}
    htmx = {"HX-Request": "true"}
    calls = {
        "series page": lambda: client.get(f"/posts/{p}"),
        "sign up for a date": lambda: client.post(f"/posts/{p}/signup", data=form),
        "sign up for a date (htmx)": lambda: client.post(f"/posts/{p}/signup", data=form, headers=htmx),
        "withdraw from a date": lambda: client.post(f"/posts/{p}/signup/cancel", data=form),
        "cancel a date": lambda: client.post(f"/events/{p}/dates/{d}/cancel", data=form),
        "cancel a date (htmx)": lambda: client.post(f"/events/{p}/dates/{d}/cancel", data=form, headers=htmx),
        "series .ics": lambda: client.get(f"/posts/{p}/event.ics"),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_recurring_event_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world()
    role = ROLES[role_index]
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    if expected == LOGIN and "htmx" in route:
        assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    else:
        assert response.status_code == expected, response.text[:300]
    if expected in (404, LOGIN):
        assert "Secret du quartier" not in response.text and "Marche nordique" not in response.text
    # What was refused changed nothing.
    date = await Occurrence.select().where(Occurrence.id == world["date"]).first()
    allowed = expected in (200, 303)
    if route.startswith("cancel"):
        assert (date["cancelled_at"] is not None) == allowed
    if route.startswith("sign up"):
        assert date["going_count"] == (1 if allowed else 0)
        assert await Signup.count().where(Signup.occurrence == world["date"]) == (1 if allowed else 0)
