"""Every route of the feed domain × (owner, neighbour, other quartier, anonymous).

What belongs to a quartier does not exist for anyone outside it: 404, never
403 (which would confirm it exists); anonymous visitors are sent to login.
"""

from __future__ import annotations

import re
import uuid

import pytest

from app.posts.tables import Photo
from tests.factories import ensure_csrf, login, make_user
from tests.factories_posts import jpeg_bytes, neighbours, publish

ROLES = ("owner", "neighbour", "outsider", "anonymous")
LOGIN = "login"

# route name → expected answer per role, in ROLES order.
MATRIX = {
    "post page": (200, 200, 404, LOGIN),
    "edit form": (200, 404, 404, LOGIN),
    "edit": (303, 404, 404, LOGIN),
    "status": (303, 404, 404, LOGIN),
    "delete": (303, 404, 404, LOGIN),
    "reply": (303, 303, 404, LOGIN),
    "reply fragment": (200, 200, 404, LOGIN),
    "photo thumb": (200, 200, 404, LOGIN),
    "photo large": (200, 200, 404, LOGIN),
    "search": ("found", "found", "not found", LOGIN),
    "feed fragment": ("found", "found", "not found", LOGIN),
    "conversation": (200, 404, 404, LOGIN),
    "conversation reply": (303, 404, 404, LOGIN),
    "profile": (200, 200, 404, LOGIN),
    "write to owner": (404, 200, 404, LOGIN),
}


async def _world(make_client):
    hood, (owner, neighbour, friend) = await neighbours(3)
    _elsewhere, (outsider,) = await neighbours(1)
    title = f"Objet {uuid.uuid4().hex[:8]}"
    owner_client = await make_client()
    await login(owner_client, owner)
    done = await publish(owner_client, {"kind": "give", "title": title, "body": "Secret du quartier"},
                         files=[("photos", ("p.jpg", jpeg_bytes(600, 400), "image/jpeg"))])
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    photo = (await Photo.select(Photo.name).where(Photo.post == post_id).first())["name"]
    # The owner's private conversation with a friend: the neighbour is not part of it.
    token = await ensure_csrf(owner_client)
    sent = await owner_client.post("/messages", data={"to": str(friend.id), "body": "Privé", "_csrf_token": token})
    conversation = sent.headers["location"].split("#")[0]
    return {"owner": owner, "neighbour": neighbour, "outsider": outsider, "post": post_id, "photo": photo,
            "title": title, "conversation": conversation}


async def _client_for(make_client, role, world):
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    return client


async def _call(client, route, w):
    token = client.cookies.get("csrftoken", "")
    p = w["post"]
    form = {"_csrf_token": token}
    htmx = {"HX-Request": "true"}
    calls = {
        "post page": lambda: client.get(f"/posts/{p}"),
        "edit form": lambda: client.get(f"/posts/{p}/edit"),
        "edit": lambda: client.post(f"/posts/{p}/edit", data={**form, "title": "Nouveau titre", "body": "Texte"}),
        "status": lambda: client.post(f"/posts/{p}/status", data={**form, "status": "reserved"}),
        "delete": lambda: client.post(f"/posts/{p}/delete", data=form),
        "reply": lambda: client.post(f"/posts/{p}/replies", data={**form, "body": "Bonjour"}),
        "reply fragment": lambda: client.post(f"/posts/{p}/replies", data={**form, "body": "Bonjour"}, headers=htmx),
        "photo thumb": lambda: client.get(f"/photos/{w['photo']}/thumb"),
        "photo large": lambda: client.get(f"/photos/{w['photo']}/large"),
        "search": lambda: client.get("/feed", params={"q": w["title"].split()[1]}),
        "feed fragment": lambda: client.get("/feed", params={"before": p + 1}, headers=htmx),
        "conversation": lambda: client.get(w["conversation"]),
        "conversation reply": lambda: client.post(w["conversation"], data={**form, "body": "Je lis ?"}),
        "profile": lambda: client.get(f"/users/{w['owner'].id}"),
        "write to owner": lambda: client.get(f"/messages/new?to={w['owner'].id}"),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_feed_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world(make_client)
    role = ROLES[role_index]
    client = await _client_for(make_client, role, world)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    if expected == LOGIN and route.endswith("fragment"):
        # htmx asked: the whole window goes to the login page.
        assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected == "found":
        # Search results mark the words searched for inside the title.
        assert response.status_code == 200 and world["title"] in re.sub(r"</?mark>", "", response.text)
    elif expected == "not found":
        assert response.status_code == 200 and world["title"] not in response.text
    else:
        assert response.status_code == expected, response.text[:300]
    if expected == 404:
        assert world["title"] not in response.text and "Secret du quartier" not in response.text
