"""Every route of the feed domain × (owner, neighbour, other quartier, anonymous).

What belongs to a quartier does not exist for anyone outside it: 404, never
403 (which would confirm it exists); anonymous visitors are sent to login.
"""

from __future__ import annotations

import re
import uuid

import pytest

from app import access
from app.accounts.queries import user_by_id
from app.accounts.tables import Block, ModeratorAssignment
from app.messages.queries import conversation_by_id
from app.posts import queries
from app.posts.tables import Photo, Post
from tests.factories import ensure_csrf, login, make_moderator
from tests.factories_posts import jpeg_bytes, make_post, neighbours, publish, signed_in

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
    neighbourhood, (owner, neighbour, friend) = await neighbours(3)
    _elsewhere, (outsider,) = await neighbours(1)
    title = f"Objet {uuid.uuid4().hex[:8]}"
    owner_client = await make_client()
    await login(owner_client, owner)
    done = await publish(
        owner_client,
        {"kind": "give", "title": title, "body": "Secret du quartier"},
        files=[("photos", ("p.jpg", jpeg_bytes(600, 400), "image/jpeg"))],
    )
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    photo = (await Photo.select(Photo.name).where(Photo.post == post_id).first())["name"]
    # The owner's private conversation with a friend: the neighbour is not part of it.
    token = await ensure_csrf(owner_client)
    sent = await owner_client.post("/messages", data={"to": str(friend.id), "body": "Privé", "_csrf_token": token})
    conversation = sent.headers["location"].split("#")[0]
    return {
        "owner": owner,
        "neighbour": neighbour,
        "outsider": outsider,
        "post": post_id,
        "photo": photo,
        "title": title,
        "conversation": conversation,
    }


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


def _allowed(route: str, role_index: int) -> bool:
    return MATRIX[route][role_index] in (200, 303, "found")


@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_access_answers_what_the_routes_answer(make_client, role_index):
    """The same world, asked of app.access directly: each rule the matrix
    above shows through HTTP is one function there."""
    world = await _world(make_client)
    role = ROLES[role_index]
    viewer = None if role == "anonymous" else await user_by_id(world[role].id)
    owner = await user_by_id(world["owner"].id)
    post = await queries.post_by_id(world["post"])
    conversation = await conversation_by_id(int(world["conversation"].rsplit("/", 1)[1]))

    assert await access.can_see_post(viewer, post) is _allowed("post page", role_index)
    editable = access.can_edit_post(viewer, post) and await access.can_see_post(viewer, post)
    assert editable is _allowed("edit", role_index)
    assert access.in_conversation(viewer, conversation) is _allowed("conversation", role_index)
    assert await access.can_see_profile(viewer, owner, i_blocked=False) is _allowed("profile", role_index)
    assert await access.can_reach(viewer, owner) is _allowed("write to owner", role_index)
    if viewer is not None:
        # The feed's SQL condition and the one-post rule agree.
        blocked = await access.blocked_ids(viewer.id)
        listed, _next = await queries.feed_page(viewer.neighbourhood, viewer.id, blocked=blocked)
        assert (world["post"] in {p["id"] for p in listed}) is _allowed("feed fragment", role_index)


async def test_a_moderator_of_two_quartiers_sees_the_other_ones_post_and_its_photos(make_client):
    """Claire moderates her own quartier and the next one: a post of the next
    one opens for her with its photos. Paul, her neighbour, gets neither."""
    neighbourhood, (paul,) = await neighbours(1)
    other_neighbourhood, (yasmine,) = await neighbours(1)
    claire = await make_moderator(neighbourhood)
    await ModeratorAssignment.insert(ModeratorAssignment(user=claire.id, neighbourhood=other_neighbourhood.id))
    yasmine_client = await signed_in(make_client, yasmine)
    done = await publish(
        yasmine_client,
        {"kind": "give", "title": "Vélo d'enfant", "body": "Roues de 16"},
        files=[("photos", ("velo.jpg", jpeg_bytes(600, 400), "image/jpeg"))],
    )
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    photo = (await Photo.select(Photo.name).where(Photo.post == post_id).first())["name"]

    for who, expected in ((claire, 200), (paul, 404)):
        client = await signed_in(make_client, who)
        page = await client.get(f"/posts/{post_id}")
        assert page.status_code == expected
        assert (f"/photos/{photo}/" in page.text) is (expected == 200)
        for size in ("large", "thumb"):
            assert (await client.get(f"/photos/{photo}/{size}")).status_code == expected, (who.first_name, size)
        assert await access.can_see_post(who, await queries.post_by_id(post_id)) is (expected == 200)


async def test_the_feed_shows_each_neighbour_exactly_the_posts_access_lets_them_open(make_client):
    """Hidden posts and blocks, in the list and one by one: the feed's SQL and
    the rule for one post say the same, for the author, a neighbour, someone
    blocked and a moderator (who meets hidden posts through the queue, not
    the feed)."""
    neighbourhood, (claire, paul, hugo) = await neighbours(3)
    moderator = await make_moderator(neighbourhood)
    open_post = await make_post(claire, title="Perceuse à donner")
    hidden_post = await make_post(claire, title="Annonce masquée")
    await Post.update({Post.status: "hidden"}).where(Post.id == hidden_post)
    hugos_post = await make_post(hugo, title="Tondeuse à prêter")
    await Block.insert(Block(blocker=hugo.id, blocked=paul.id))
    posts = [await queries.post_by_id(i) for i in (open_post, hidden_post, hugos_post)]

    for viewer in (claire, paul, hugo, moderator):
        blocked = await access.blocked_ids(viewer.id)
        listed, _next = await queries.feed_page(neighbourhood.id, viewer.id, blocked=blocked)
        in_feed = {p["id"] for p in listed} & {p["id"] for p in posts}
        seen = {p["id"] for p in posts if access.sees_post(viewer, p, moderator=False, blocked=blocked)}
        assert in_feed == seen, viewer.first_name
    assert hidden_post in {p["id"] for p in posts if await access.can_see_post(moderator, p)}
    assert hugos_post not in {p["id"] for p in posts if await access.can_see_post(paul, p)}
