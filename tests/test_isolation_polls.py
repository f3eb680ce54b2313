"""Every route of the polls domain × (owner, neighbour, other quartier, anonymous).

A discussion's poll belongs to its quartier like the discussion: outside it,
it does not exist (404, never 403); anonymous visitors are sent to login.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.polls import queries
from tests.factories import ensure_csrf, login
from tests.factories_posts import neighbours, publish, signed_in

ROLES = ("owner", "neighbour", "outsider", "anonymous")
LOGIN = "login"

MATRIX = {
    "vote": (303, 303, 404, LOGIN),
    "vote fragment": (200, 200, 404, LOGIN),
    "results fragment": (200, 200, 404, LOGIN),
    "results page": (303, 303, 404, LOGIN),
    "edit options": (303, 404, 404, LOGIN),
}


async def _world(make_client):
    _neighbourhood, (owner, neighbour) = await neighbours(2)
    _elsewhere, (outsider,) = await neighbours(1)
    closes_on = (datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=3)).isoformat()
    poll = {
        "kind": "discussion",
        "title": "Secret du quartier : compost ?",
        "body": "Un bac à compost dans la cour ?",
        "poll_option_1": "Oui, volontiers",
        "poll_option_2": "Plutôt non",
        "poll_multiple": "0",
        "poll_closes_on": closes_on,
    }
    done = await publish(await signed_in(make_client, owner), poll)
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    found = await queries.for_post(post_id)
    options = [o["id"] for o in await queries.options_of(found["id"])]
    return {
        "owner": owner,
        "neighbour": neighbour,
        "outsider": outsider,
        "post": post_id,
        "options": options,
        "form": poll,
    }


async def _call(client, route, w):
    token = client.cookies.get("csrftoken", "")
    p = w["post"]
    vote = {"_csrf_token": token, "option": str(w["options"][0])}
    htmx = {"HX-Request": "true"}
    calls = {
        "vote": lambda: client.post(f"/posts/{p}/vote", data=vote),
        "vote fragment": lambda: client.post(f"/posts/{p}/vote", data=vote, headers=htmx),
        "results fragment": lambda: client.get(f"/posts/{p}/poll", headers=htmx),
        "results page": lambda: client.get(f"/posts/{p}/poll"),
        "edit options": lambda: client.post(
            f"/posts/{p}/edit", data={**w["form"], "poll_option_2": "Non merci", "_csrf_token": token}
        ),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_poll_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world(make_client)
    role = ROLES[role_index]
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    if expected == LOGIN and route.endswith("fragment"):
        assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    else:
        assert response.status_code == expected, response.text[:300]
    if expected == 404:
        assert "Secret du quartier" not in response.text and "Oui, volontiers" not in response.text
    # Only a vote let through counts; only the owner's edit changes the options.
    poll = await queries.for_post(world["post"])
    assert poll["voter_count"] == (1 if route.startswith("vote") and expected in (200, 303) else 0)
    labels = [o["label"] for o in await queries.options_of(poll["id"])]
    assert labels[1] == ("Non merci" if route == "edit options" and expected == 303 else "Plutôt non")
