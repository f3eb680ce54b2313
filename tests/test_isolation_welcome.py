"""The welcome block and profile photos × (owner, neighbour, other quartier,
anonymous), in the style of test_isolation_posts: a profile photo is seen by
whoever may see the profile, and nobody else (404); a newcomer is met only by
the neighbours of their own quartier."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app import access
from app.accounts.queries import user_by_id
from app.accounts.tables import User
from app.neighbours.tables import ProfilePhoto
from tests.factories import ensure_csrf, login
from tests.factories_posts import neighbours, signed_in, unique_jpeg

ROLES = ("owner", "neighbour", "outsider", "anonymous")
LOGIN = "login"

# route → expected answer per role, in ROLES order. The owner is a newcomer with a photo.
MATRIX = {
    "photo large": (200, 200, 404, LOGIN),
    "photo small": (200, 200, 404, LOGIN),
    "newcomers block": ("absent", "shown", "absent", LOGIN),
    "welcome form": (404, 200, 404, LOGIN),
    "upload own photo": (303, 303, 303, LOGIN),
    "remove own photo": (303, 303, 303, LOGIN),
    # Only a moderator of the owner's quartier (test_welcome_and_photos): nobody here.
    "remove owner's photo as moderator": (404, 404, 404, LOGIN),
}


async def _world(make_client):
    _hood, (owner, neighbour) = await neighbours(2)
    _elsewhere, (outsider,) = await neighbours(1)
    long_ago = datetime.now(timezone.utc) - timedelta(days=90)
    await User.update({User.neighbourhood_joined_at: long_ago}).where(User.id.is_in([neighbour.id, outsider.id]))
    client = await signed_in(make_client, owner)
    token = await ensure_csrf(client)
    done = await client.post(
        "/settings/profile/photo",
        data={"_csrf_token": token},
        files={"photo": ("moi.jpg", unique_jpeg(), "image/jpeg")},
    )
    assert done.status_code == 303
    photo = (await ProfilePhoto.select(ProfilePhoto.name).where(ProfilePhoto.user == owner.id).first())["name"]
    return {"owner": owner, "neighbour": neighbour, "outsider": outsider, "photo": photo}


async def _call(client, route, w):
    token = client.cookies.get("csrftoken", "")
    calls = {
        "photo large": lambda: client.get(f"/profile-photos/{w['photo']}/large"),
        "photo small": lambda: client.get(f"/profile-photos/{w['photo']}/small"),
        "newcomers block": lambda: client.get("/feed"),
        "welcome form": lambda: client.get(f"/messages/new?to={w['owner'].id}&welcome=1"),
        "upload own photo": lambda: client.post(
            "/settings/profile/photo",
            data={"_csrf_token": token},
            files={"photo": ("p.jpg", unique_jpeg(300, 300), "image/jpeg")},
        ),
        "remove own photo": lambda: client.post("/settings/profile/photo/delete", data={"_csrf_token": token}),
        "remove owner's photo as moderator": lambda: client.post(
            f"/moderation/users/{w['owner'].id}/photo/delete", data={"_csrf_token": token}
        ),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_welcome_and_photo_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world(make_client)
    role = ROLES[role_index]
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    owner_name = f"{world['owner'].first_name} {world['owner'].last_name[:1]}."
    if expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected in ("shown", "absent"):
        block = re.search(r'<details class="newcomers".*?</details>', response.text, re.S)
        assert response.status_code == 200
        assert (block is not None and owner_name in block.group(0)) is (expected == "shown")
    else:
        assert response.status_code == expected, response.text[:300]
    if route.startswith("photo") and expected == 404:
        assert response.headers.get("content-type", "").startswith("text/html")
    if route.startswith("upload") and role != "anonymous":
        # Each uploads their own: the owner's photo is never theirs to change.
        me = world[role]
        assert await ProfilePhoto.exists().where(ProfilePhoto.user == me.id)
        if role != "owner":
            still = await ProfilePhoto.select(ProfilePhoto.name).where(ProfilePhoto.user == world["owner"].id).first()
            assert still["name"] == world["photo"]
    if route.startswith("remove") and (role not in ("owner", "anonymous") or "moderator" in route):
        assert await ProfilePhoto.exists().where(ProfilePhoto.user == world["owner"].id)


@pytest.mark.parametrize("role_index", range(len(ROLES) - 1), ids=ROLES[:-1])
async def test_access_answers_what_the_photo_route_answers(make_client, role_index):
    world = await _world(make_client)
    viewer = await user_by_id(world[ROLES[role_index]].id)
    owner = await user_by_id(world["owner"].id)
    allowed = MATRIX["photo large"][role_index] == 200
    assert await access.can_see_profile(viewer, owner, i_blocked=False) is allowed


async def test_someone_who_blocked_me_shows_me_no_photo_but_the_one_i_blocked_does(make_client):
    """Claire (the owner) blocks Paul: she is hidden from him, her photo too;
    she keeps his profile (to unblock him), and so his photo."""
    from app.accounts.tables import Block

    world = await _world(make_client)
    owner, neighbour = world["owner"], world["neighbour"]
    paul_client = await signed_in(make_client, neighbour)
    await _call(paul_client, "upload own photo", world)
    pauls = (await ProfilePhoto.select(ProfilePhoto.name).where(ProfilePhoto.user == neighbour.id).first())["name"]
    await Block.insert(Block(blocker=owner.id, blocked=neighbour.id))
    assert (await paul_client.get(f"/profile-photos/{world['photo']}/small")).status_code == 404
    claire_client = await signed_in(make_client, owner)
    assert (await claire_client.get(f"/profile-photos/{pauls}/small")).status_code == 200
