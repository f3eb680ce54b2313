"""Every route of urgent alerts × (owner, neighbour, other quartier,
anonymous, the quartier's moderator).

An alert is the quartier's: nobody outside it learns it exists (404); a
proposal is its author's and the moderators' until it is published; deciding
is the moderators' alone, a 404 for everyone else.
"""

from __future__ import annotations

import pytest

from app import access
from app.accounts.queries import user_by_id
from app.alerts import queries as alerts
from tests.factories import ensure_csrf, login, make_moderator
from tests.factories_posts import neighbours

ROLES = ("owner", "neighbour", "outsider", "anonymous", "moderator")
LOGIN = "login"

MATRIX = {
    "alert page": (200, 200, 404, LOGIN, 200),
    "proposal page": (200, 404, 404, LOGIN, 200),
    "new alert form": (200, 200, 200, LOGIN, 200),
    "propose": (303, 303, 303, LOGIN, 303),
    "queue": (404, 404, 404, LOGIN, 200),
    "approve": (404, 404, 404, LOGIN, 303),
    "refuse": (404, 404, 404, LOGIN, 303),
    "end": (404, 404, 404, LOGIN, 303),
    "report form": (200, 200, 404, LOGIN, 200),
    "report": (303, 303, 404, LOGIN, 303),
    "report a proposal": (404, 404, 404, LOGIN, 404),
    "feed banner": ("found", "found", "not found", LOGIN, "found"),
}
PUBLISHED = "Incendie rue du Moulin"
PROPOSED = "Chien perdu près de l'école"


async def _world():
    neighbourhood, (owner, neighbour) = await neighbours(2)
    _elsewhere, (outsider,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    published = await alerts.create(
        owner, neighbourhood.id, category="fire", title=PUBLISHED, body="Secret du quartier", hours=6, publish=False
    )
    await alerts.approve(moderator, await alerts.by_id(published))
    proposed = await alerts.create(
        owner, neighbourhood.id, category="pet", title=PROPOSED, body="Secret du quartier", hours=6, publish=False
    )
    return {
        "owner": owner,
        "neighbour": neighbour,
        "outsider": outsider,
        "moderator": moderator,
        "published": published,
        "proposed": proposed,
    }


async def _call(client, route, w):
    form = {"_csrf_token": client.cookies.get("csrftoken", "")}
    calls = {
        "alert page": lambda: client.get(f"/alerts/{w['published']}"),
        "proposal page": lambda: client.get(f"/alerts/{w['proposed']}"),
        "new alert form": lambda: client.get("/alerts/new"),
        "propose": lambda: client.post(
            "/alerts", data={**form, "category": "road", "title": "Route barrée", "body": "Travaux"}
        ),
        "queue": lambda: client.get("/moderation/alerts"),
        "approve": lambda: client.post(f"/alerts/{w['proposed']}/approve", data=form),
        "refuse": lambda: client.post(f"/alerts/{w['proposed']}/refuse", data={**form, "reason": "Doublon"}),
        "end": lambda: client.post(f"/alerts/{w['published']}/end", data=form),
        "report form": lambda: client.get(f"/alerts/{w['published']}/report"),
        "report": lambda: client.post(f"/alerts/{w['published']}/report", data={**form, "reason": "spam"}),
        "report a proposal": lambda: client.post(f"/alerts/{w['proposed']}/report", data={**form, "reason": "spam"}),
        "feed banner": lambda: client.get("/feed"),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_alert_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world()
    role = ROLES[role_index]
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    if expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected == "found":
        assert response.status_code == 200 and PUBLISHED in response.text
    elif expected == "not found":
        assert response.status_code == 200 and PUBLISHED not in response.text
    else:
        assert response.status_code == expected, response.text[:300]
    if expected == 404:
        assert "Secret du quartier" not in response.text and PUBLISHED not in response.text
    # Nothing was decided by someone who may not decide.
    if route in ("approve", "refuse") and expected != 303:
        assert (await alerts.by_id(world["proposed"]))["status"] == "proposed"
    if route == "end" and expected != 303:
        assert alerts.is_showing(await alerts.by_id(world["published"]))


@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_access_answers_what_the_routes_answer(role_index):
    world = await _world()
    role = ROLES[role_index]
    viewer = None if role == "anonymous" else await user_by_id(world[role].id)
    for route, alert_id in (("alert page", world["published"]), ("proposal page", world["proposed"])):
        allowed = MATRIX[route][role_index] == 200
        assert await access.can_see_alert(viewer, await alerts.by_id(alert_id)) is allowed, route
