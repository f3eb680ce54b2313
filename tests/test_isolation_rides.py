"""The covoiturage and sale routes × (owner, neighbour, other quartier,
anonymous), in the style of test_isolation_posts.py: a ride of one quartier
does not exist for anyone outside it (404), anonymous visitors go to login;
moderation hides a ride or a sale like any annonce."""

from __future__ import annotations

import html
import uuid

import pytest

from app.moderation.tables import ModerationAction, Report
from app.rides import queries as rides
from tests.factories import ensure_csrf, login, make_moderator, post_form
from tests.factories_posts import make_post, neighbours, signed_in
from tests.factories_rides import make_ride

ROLES = ("owner", "neighbour", "outsider", "anonymous")
LOGIN = "login"
DRIVING = "driving"

# route name → expected answer per role, in ROLES order.
MATRIX = {
    "ride page": (200, 200, 404, LOGIN),
    "take seat": (DRIVING, 303, 404, LOGIN),
    "take seat fragment": (DRIVING, 200, 404, LOGIN),
    "give back": (303, 303, 404, LOGIN),
    "give back fragment": (200, 200, 404, LOGIN),
    "rider list": ("names", "no names", 404, LOGIN),
    "sale page": ("price", "price", 404, LOGIN),
    "sale chip": ("found", "found", "not found", LOGIN),
}


async def _world():
    hood, (owner, neighbour, rider) = await neighbours(3)
    _elsewhere, (outsider,) = await neighbours(1)
    title = f"Trajet {uuid.uuid4().hex[:8]}"
    ride_post = await make_ride(owner, title=title, destination="Secret du quartier", seats=3)
    # Someone already rides, whose name only the driver may read.
    await rides.take_seat((await rides.for_post(ride_post))["id"], rider.id)
    sale_title = f"Vente {uuid.uuid4().hex[:8]}"
    sale = await make_post(owner, kind="sale", title=sale_title)
    return {"owner": owner, "neighbour": neighbour, "outsider": outsider, "rider": rider, "ride": ride_post,
            "title": title, "sale": sale, "sale_title": sale_title}  # fmt: skip


async def _call(client, route, w):
    form = {"_csrf_token": client.cookies.get("csrftoken", "")}
    htmx = {"HX-Request": "true"}
    r = w["ride"]
    calls = {
        "ride page": lambda: client.get(f"/posts/{r}"),
        "take seat": lambda: client.post(f"/posts/{r}/seat", data=form),
        "take seat fragment": lambda: client.post(f"/posts/{r}/seat", data=form, headers=htmx),
        "give back": lambda: client.post(f"/posts/{r}/seat/give-back", data=form),
        "give back fragment": lambda: client.post(f"/posts/{r}/seat/give-back", data=form, headers=htmx),
        "rider list": lambda: client.get(f"/posts/{r}"),
        "sale page": lambda: client.get(f"/posts/{w['sale']}"),
        "sale chip": lambda: client.get("/feed", params={"kind": "sale"}),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_ride_and_sale_routes_answer_only_inside_the_quartier(make_client, route, role_index):
    world = await _world()
    role = ROLES[role_index]
    client = await make_client()
    if role != "anonymous":
        await login(client, world[role])
    await ensure_csrf(client)
    response = await _call(client, route, world)
    expected = MATRIX[route][role_index]
    text = html.unescape(response.text)
    rider_name = f"{world['rider'].first_name} V."
    if expected == LOGIN and route.endswith("fragment"):
        assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected == DRIVING:
        assert response.status_code == 422 and "la place du conducteur est déjà la vôtre" in text
    elif expected == "names":
        assert response.status_code == 200 and rider_name in text
    elif expected == "no names":
        assert response.status_code == 200 and rider_name not in text and "Qui vient avec vous" not in text
    elif expected == "price":
        assert response.status_code == 200 and "Prix libre" in text
    elif expected == "found":
        assert response.status_code == 200 and world["sale_title"] in text
    elif expected == "not found":
        assert response.status_code == 200 and world["sale_title"] not in text
    else:
        assert response.status_code == expected, response.text[:300]
    if expected == 404:
        assert world["title"] not in text and "Secret du quartier" not in text
    seats = (await rides.for_post(world["ride"]))["seats_taken"]
    # Only a neighbour's own click moves the seats (the rider's stays).
    assert seats == (2 if (role, route) in (("neighbour", "take seat"), ("neighbour", "take seat fragment")) else 1)


async def test_a_ride_hidden_by_moderation_takes_no_one_and_the_audit_keeps_it(make_client):
    hood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(hood)
    ride_post = await make_ride(claire, title="Covoiturage douteux")
    hidden = await post_form(
        await signed_in(make_client, moderator), f"/moderation/posts/{ride_post}/hide", {"reason": "Arnaque"}
    )
    assert hidden.status_code == 303
    paul_client = await signed_in(make_client, paul)
    assert (await post_form(paul_client, f"/posts/{ride_post}/seat")).status_code == 404
    assert (await rides.for_post(ride_post))["seats_taken"] == 0
    actions = await ModerationAction.select(ModerationAction.action).where(ModerationAction.target_id == ride_post)
    assert [a["action"] for a in actions] == ["hide"]


async def test_a_sale_can_be_reported_by_a_neighbour(make_client):
    _hood, (claire, paul) = await neighbours(2)
    sale = await make_post(claire, kind="sale", title="Téléphone « tombé du camion »")
    paul_client = await signed_in(make_client, paul)
    form = await paul_client.get(f"/posts/{sale}/report")
    assert form.status_code == 200
    assert (await post_form(paul_client, f"/posts/{sale}/report", {"reason": "spam"})).status_code == 303
    reports = await Report.select(Report.reporter).where((Report.target_type == "post") & (Report.target_id == sale))
    assert [r["reporter"] for r in reports] == [paul.id]
