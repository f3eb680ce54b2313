"""Thanks, saving, /saved and the shared link × (owner, neighbour, other quartier, anonymous).

Same rules as tests/test_isolation_posts.py: what belongs to a quartier does
not exist outside it (404), anonymous visitors are sent to the login page.
"""

from __future__ import annotations

import uuid

import pytest

from app.posts import saved
from tests.factories import ensure_csrf, login
from tests.factories_posts import make_post, neighbours, signed_in
from tests.test_isolation_posts import LOGIN, ROLES

# route name → expected answer per role, in ROLES order.
MATRIX = {
    # Only the author thanks; the neighbour who helped cannot thank themselves.
    "thank": (303, 404, 404, LOGIN),
    "save": (303, 303, 404, LOGIN),
    "save fragment": (200, 200, 404, LOGIN),
    "unsave": (303, 303, 404, LOGIN),
    # Each one's own list: the outsider's old save of the post shows nothing.
    "saved list": ("found", "found", "not found", LOGIN),
    "saved fragment": ("found", "found", "not found", LOGIN),
    "share link": (200, 200, 404, LOGIN),
}


async def _world(make_client):
    _hood, (owner, neighbour) = await neighbours(2)
    _elsewhere, (outsider,) = await neighbours(1)
    title = f"Objet {uuid.uuid4().hex[:8]}"
    post_id = await make_post(owner, title=title, body="Secret du quartier")
    helper = await signed_in(make_client, neighbour)
    token = await ensure_csrf(helper)
    await helper.post(f"/posts/{post_id}/replies", data={"body": "Je peux aider", "_csrf_token": token})
    # Everyone saved it, the outsider too (as if they had lived there before).
    for person in (owner, neighbour, outsider):
        await saved.save(person.id, post_id)
    return {"owner": owner, "neighbour": neighbour, "outsider": outsider, "post": post_id, "title": title}


async def _call(client, route, w):
    form = {"_csrf_token": client.cookies.get("csrftoken", "")}
    htmx = {"HX-Request": "true"}
    p = w["post"]
    calls = {
        "thank": lambda: client.post(f"/posts/{p}/thanks", data={**form, "helper": str(w["neighbour"].id)}),
        "save": lambda: client.post(f"/posts/{p}/save", data={**form, "saved": "1"}),
        "save fragment": lambda: client.post(f"/posts/{p}/save", data={**form, "saved": "1"}, headers=htmx),
        "unsave": lambda: client.post(f"/posts/{p}/save", data={**form, "saved": "0"}),
        "saved list": lambda: client.get("/saved"),
        "saved fragment": lambda: client.get("/saved", headers=htmx),
        "share link": lambda: client.get(f"/posts/{p}"),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_thanks_and_saved_routes_answer_only_inside_the_quartier(make_client, route, role_index):
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
    elif expected == "found":
        assert response.status_code == 200 and world["title"] in response.text
    elif expected == "not found":
        assert response.status_code == 200 and world["title"] not in response.text
    else:
        assert response.status_code == expected, response.text[:300]
    if expected in (404, LOGIN, "not found"):
        assert world["title"] not in response.text and "Secret du quartier" not in response.text
