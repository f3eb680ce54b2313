"""Factories: people, neighbourhoods and forms, made the way the app makes them."""

from __future__ import annotations

import html as html_lib
import itertools
import re
import uuid
from functools import lru_cache

from app.accounts import queries as accounts
from app.accounts.passwords import _hasher
from app.accounts.tables import User
from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood

PASSWORD = "un mot de passe solide"
_counter = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return _hasher.hash(PASSWORD)


async def load_demo_neighbourhoods() -> None:
    from app.demo import DEMO_GEOJSON

    for feature in geometry.load_features(DEMO_GEOJSON):
        await neighbourhoods.upsert(feature)


async def load_demo_addresses() -> None:
    """The demo's addresses, exactly: what a test imported on top of them is gone."""
    from app.addresses.importer import import_file
    from app.demo import DEMO_ADDRESSES

    await import_file(DEMO_ADDRESSES)


async def make_neighbourhood(
    *, status: str = "open", city: str = "Testville", requires_verification: bool = False
) -> Neighbourhood:
    """A 500 m circle somewhere in the Atlantic, far from the demo cities and from each other."""
    n = next(_counter)
    lat, lon = 45.0 + (n % 100) * 0.05, -20.0 - (n // 100) * 0.05
    slug = f"test-{uuid.uuid4().hex[:10]}"
    neighbourhood = await neighbourhoods.upsert(
        {
            "type": "Feature",
            "geometry": geometry.circle_polygon(lat, lon, 500),
            "properties": {"slug": slug, "name": f"Quartier {n}", "city": city, "postcode": "99000"},
        },
        status=status,
    )
    if requires_verification:
        await Neighbourhood.update({Neighbourhood.requires_verification: True}).where(
            Neighbourhood.id == neighbourhood.id
        )
    return await neighbourhoods.by_id(neighbourhood.id)


async def make_user(
    neighbourhood: Neighbourhood | None = None,
    *,
    first_name: str = "Claire",
    last_name: str = "Martin",
    role: str = "member",
    verified: bool = False,
    locale: str = "",
    email: str | None = None,
) -> User:
    email = email or f"{first_name.lower()}.{uuid.uuid4().hex[:10]}@exemple.fr"
    user = await accounts.create_user(
        first_name=first_name, last_name=last_name, email=email, password_hash=_password_hash(), locale=locale
    )
    if neighbourhood is not None:
        await neighbourhoods.join(
            user,
            neighbourhood,
            f"1 rue du Test, {neighbourhood.postcode} {neighbourhood.city}",
            neighbourhood.centre_lat,
            neighbourhood.centre_lon,
        )
    updates = {}
    if role != "member":
        updates[User.role] = role
    if verified:
        updates[User.verification] = "verified"
    if updates:
        await User.update(updates).where(User.id == user.id)
    return await accounts.user_by_id(user.id)


def csrf(client) -> str:
    return client.cookies.get("csrftoken", "")


async def ensure_csrf(client) -> str:
    if not csrf(client):
        await client.get("/login")
    return csrf(client)


async def post_form(client, url: str, data: dict | None = None, **kwargs):
    """Posts like a browser does: with the form's CSRF field."""
    token = await ensure_csrf(client)
    return await client.post(url, data={**(data or {}), "_csrf_token": token}, **kwargs)


async def login(client, user: User, password: str = PASSWORD):
    response = await post_form(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 303, response.text
    return response


def field_error(html: str, field: str) -> str:
    """The message shown next to a field, as a reader of the page sees it."""
    match = re.search(rf'<p class="error" id="f-{field}-error"[^>]*>(.*?)</p>', html, re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", match.group(1)).strip()) if match else ""


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input id="f-{field}" name="{field}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


async def make_moderator(neighbourhood, **kwargs) -> User:
    """A neighbour of `neighbourhood` given its moderation."""
    from app.accounts.tables import ModeratorAssignment

    moderator = await make_user(
        neighbourhood, first_name=kwargs.pop("first_name", "Modeste"), role="moderator", **kwargs
    )
    await ModeratorAssignment.insert(ModeratorAssignment(user=moderator.id, neighbourhood=neighbourhood.id))
    return moderator


async def notifications_of(user, kind: str | None = None, locale: str = "fr") -> list[dict]:
    """A neighbour's notifications, oldest first, each with the sentence they read."""
    from app.notify.tables import Notification
    from app.notify.text import describe

    query = Notification.select().where(Notification.user == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return [{**row, "text": describe(row["kind"], row["params"], locale)} for row in await query]
