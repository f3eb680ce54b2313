"""Every route of the groups domain × (admin, member, neighbour who is not a
member, neighbour of a quartier voisin, far quartier, anonymous).

A quartier's group exists for that quartier and its quartiers voisins; its
posts for its members only (and those who moderate it): 404 for the rest,
never 403; anonymous visitors are sent to login.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.factories import ensure_csrf, login, make_user, post_form
from tests.factories_nearby import people_of_three_quartiers
from tests.factories_posts import publish, signed_in

ROLES = ("admin", "member", "neighbour", "voisin", "far", "anonymous")
LOGIN = "login"

# route name → expected answer per role, in ROLES order.
MATRIX = {
    "groups list": ("found", "found", "found", "found", "not found", LOGIN),
    "create": (303, 303, 303, 303, 303, LOGIN),
    "group page": (200, 200, 200, 200, 404, LOGIN),
    "group feed": ("found", "found", "not found", "not found", 404, LOGIN),
    "join": (303, 303, 303, 303, 404, LOGIN),
    "join fragment": (200, 200, 200, 200, 404, LOGIN),
    "leave": (303, 303, 303, 303, 404, LOGIN),
    "answer request": (303, 404, 404, 404, 404, LOGIN),
    "name admin": (303, 404, 404, 404, 404, LOGIN),
    "new post form": (200, 200, 404, 404, 404, LOGIN),
    "new event form": (200, 200, 404, 404, 404, LOGIN),
    "publish": (303, 303, 404, 404, 404, LOGIN),
    "post page": (200, 200, 404, 404, 404, LOGIN),
    "reply": (303, 303, 404, 404, 404, LOGIN),
    "hide": (303, 404, 404, 404, 404, LOGIN),
    "main feed": ("not found", "not found", "not found", "not found", "not found", LOGIN),
}


async def _world(make_client):
    (tilleuls, _gare, _port), (admin, member, voisin, far) = await people_of_three_quartiers()
    neighbour = await make_user(tilleuls, first_name="Yasmine", last_name="Petit")
    as_admin, as_member = await signed_in(make_client, admin), await signed_in(make_client, member)
    made = await post_form(as_admin, "/groups", {"name": "Coureurs du dimanche", "topic": "sport", "joining": "open"})
    group = int(made.headers["location"].rsplit("/", 1)[1])
    assert (await post_form(as_member, f"/groups/{group}/join")).status_code == 303
    title = f"Sortie {uuid.uuid4().hex[:8]}"
    done = await publish(as_member, {"kind": "discussion", "title": title, "body": "Dimanche 9 h", "group": group})
    post = int(done.headers["location"].rsplit("/", 1)[1])
    people = {"admin": admin, "member": member, "neighbour": neighbour, "voisin": voisin, "far": far}
    return {"group": group, "post": post, "title": title, "people": people}


async def _call(client, route: str, world: dict):
    form = {"_csrf_token": client.cookies.get("csrftoken", "")}
    g, p, member = world["group"], world["post"], world["people"]["member"]
    calls = {
        "groups list": lambda: client.get("/groups"),
        "create": lambda: client.post(
            "/groups", data={**form, "name": "Un autre groupe", "topic": "other", "joining": "open"}
        ),
        "group page": lambda: client.get(f"/groups/{g}"),
        "group feed": lambda: client.get(f"/groups/{g}"),
        "join": lambda: client.post(f"/groups/{g}/join", data=form),
        "join fragment": lambda: client.post(f"/groups/{g}/join", data=form, headers={"HX-Request": "true"}),
        "leave": lambda: client.post(f"/groups/{g}/leave", data=form),
        "answer request": lambda: client.post(f"/groups/{g}/requests/{member.id}", data={**form, "answer": "refuse"}),
        "name admin": lambda: client.post(f"/groups/{g}/admins/{member.id}", data=form),
        "new post form": lambda: client.get("/posts/new", params={"kind": "discussion", "group": g}),
        "new event form": lambda: client.get("/events/new", params={"group": g}),
        "publish": lambda: client.post(
            "/posts",
            data={**form, "kind": "discussion", "title": "Dans le groupe", "body": "Texte", "group": g},
            files={"photos": ("", b"", "application/octet-stream")},
        ),
        "post page": lambda: client.get(f"/posts/{p}"),
        "reply": lambda: client.post(f"/posts/{p}/replies", data={**form, "body": "Bonjour"}),
        "hide": lambda: client.post(f"/moderation/posts/{p}/hide", data={**form, "reason": "Hors sujet"}),
        "main feed": lambda: client.get("/feed"),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
async def test_what_each_may_do_with_a_group(make_client, route):
    world = await _world(make_client)
    # The admin last: what they change (hide, leave) must not decide the others' answers.
    for role, expected in reversed(list(zip(ROLES, MATRIX[route], strict=True))):
        client = await make_client()
        if role != "anonymous":
            await login(client, world["people"][role])
        await ensure_csrf(client)
        answer = await _call(client, route, world)
        if expected == LOGIN and route.endswith("fragment"):
            assert answer.status_code == 401 and answer.headers["hx-redirect"].startswith("/login")
        elif expected == LOGIN:
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (role, route)
        elif route == "groups list":
            assert answer.status_code == 200, (role, route)
            assert ("Coureurs du dimanche" in answer.text) == (expected == "found"), (role, route)
        elif expected in ("found", "not found"):
            assert answer.status_code == 200, (role, route)
            assert (world["title"] in re.sub(r"</?mark>", "", answer.text)) == (expected == "found"), (role, route)
        else:
            assert answer.status_code == expected, (role, route, answer.status_code)
        if expected == 404:
            assert world["title"] not in answer.text, (role, route)
