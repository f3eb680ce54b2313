"""Quartiers voisins: quartiers whose boundaries touch or lie within 1 km.

An author may show a post to them too; their neighbours read it, answer it
and sign up to it, and widen their feed to such posts; everything else of
the quartier (its other posts, its members' profiles, messages to them)
stays closed to them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.access import nearby_ids
from app.events.tables import Signup
from app.migrating import migrate
from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood, NeighbourhoodNearby
from app.posts.tables import Photo, Post
from tests.factories import ensure_csrf, login, notifications_of
from tests.factories_events import local
from tests.factories_nearby import KM_LAT, people_of_three_quartiers, quartier, three_quartiers
from tests.factories_posts import jpeg_bytes, publish, signed_in


async def count_of(neighbourhood) -> int:
    return (await neighbourhoods.by_id(neighbourhood.id)).nearby_count


async def test_quartiers_within_a_kilometre_are_voisins_both_ways_and_farther_ones_are_not():
    tilleuls, gare, port = await three_quartiers()

    assert await nearby_ids(tilleuls.id) == [gare.id]
    assert await nearby_ids(gare.id) == [tilleuls.id]
    assert await nearby_ids(port.id) == []
    assert (await count_of(tilleuls), await count_of(gare), await count_of(port)) == (1, 1, 0)

    # Two quartiers that touch are voisins at 0 m.
    # (1 km east at 60° N is two kilometres' worth of latitude degrees.)
    touching = await quartier("Halles", tilleuls.centre_lat, tilleuls.centre_lon + 2.0 * KM_LAT, radius_m=700)
    pair = await NeighbourhoodNearby.select().where(
        (NeighbourhoodNearby.neighbourhood == tilleuls.id) & (NeighbourhoodNearby.nearby == touching.id)
    )
    assert pair and pair[0]["distance_m"] == 0
    assert await count_of(tilleuls) == 2


async def test_a_boundary_moved_away_ends_the_pair_and_a_waiting_list_has_no_voisins_until_it_opens():
    tilleuls, gare, _port = await three_quartiers()
    # La Gare's boundary is redrawn 5 km further north.
    await neighbourhoods.upsert(
        {
            "type": "Feature",
            "geometry": geometry.circle_polygon(gare.centre_lat + 5 * KM_LAT, gare.centre_lon, 500),
            "properties": {"slug": gare.slug, "name": "Gare", "city": "Testville", "postcode": "99000"},
        }
    )
    assert await nearby_ids(tilleuls.id) == []
    assert await count_of(tilleuls) == 0

    # 1.5 km east of Les Tilleuls' centre (600 m between the edges), far from Le Port and La Gare.
    waiting = await quartier(
        "Attente", tilleuls.centre_lat, tilleuls.centre_lon + 3.0 * KM_LAT, radius_m=400, status="forming"
    )
    assert await nearby_ids(tilleuls.id) == []
    assert await neighbourhoods.open_neighbourhood(waiting.slug)
    assert await nearby_ids(tilleuls.id) == [waiting.id]
    assert await nearby_ids(waiting.id) == [tilleuls.id]


async def test_the_upgrade_that_brought_voisins_computes_them_for_the_quartiers_already_there():
    tilleuls, gare, _port = await three_quartiers()
    await NeighbourhoodNearby.delete(force=True)
    await Neighbourhood.update({Neighbourhood.nearby_count: 0}, force=True)

    await migrate(quiet=True)

    assert await nearby_ids(tilleuls.id) == [gare.id]
    assert await count_of(gare) == 1


async def publish_post(client, title: str, *, nearby: bool, photo: bool = False) -> int:
    data = {"kind": "give", "title": title, "body": "Bon état, à venir chercher."}
    if nearby:
        data["nearby"] = "1"
    files = [("photos", ("p.jpg", jpeg_bytes(600, 400), "image/jpeg"))] if photo else None
    done = await publish(client, data, files=files)
    assert done.status_code == 303, done.text
    return int(done.headers["location"].rsplit("/", 1)[1])


async def test_a_post_shown_to_the_voisins_is_read_and_answered_from_la_gare_and_stays_closed_to_le_port(
    make_client,
):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    form = await claire.get("/posts/new?kind=give")
    assert "Visible aussi par les quartiers voisins" in form.text
    shown = await publish_post(claire, f"Poussette {uuid.uuid4().hex[:6]}", nearby=True)
    kept = await publish_post(claire, f"Perceuse {uuid.uuid4().hex[:6]}", nearby=False)

    paul = await signed_in(make_client, from_gare)
    page = await paul.get(f"/posts/{shown}")
    assert page.status_code == 200
    assert "Quartier voisin : Tilleuls" in page.text
    # Claire is a name here, not a link to a profile that does not open for Paul; no private message either.
    assert f'href="/users/{author.id}"' not in page.text
    assert "/messages/new" not in page.text
    assert (await paul.get(f"/users/{author.id}")).status_code == 404
    assert (await paul.get(f"/messages/new?to={author.id}")).status_code == 404

    token = await ensure_csrf(paul)
    answered = await paul.post(f"/posts/{shown}/replies", data={"body": "Elle m'intéresse !", "_csrf_token": token})
    assert answered.status_code == 303
    told = await notifications_of(author, "reply_to_post")
    assert told and "Paul B." in told[-1]["text"]

    assert (await paul.get(f"/posts/{kept}")).status_code == 404
    lea = await signed_in(make_client, from_port)
    assert (await lea.get(f"/posts/{shown}")).status_code == 404

    # Claire sees Paul's answer with his name, not as a link to a profile she cannot open.
    thread = await claire.get(f"/posts/{shown}")
    assert "Elle m&#39;intéresse !" in thread.text or "Elle m'intéresse !" in thread.text
    assert f'href="/users/{from_gare.id}"' not in thread.text
    assert "Paul B." in thread.text


async def test_the_widened_feed_adds_what_the_voisins_showed_and_only_that(make_client):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    shown_title = f"Vélo {uuid.uuid4().hex[:6]}"
    kept_title = f"Tondeuse {uuid.uuid4().hex[:6]}"
    await publish_post(claire, shown_title, nearby=True)
    await publish_post(claire, kept_title, nearby=False)

    paul = await signed_in(make_client, from_gare)
    own = await paul.get("/feed")
    assert "Avec les quartiers voisins" in own.text
    assert shown_title not in own.text

    widened = await paul.get("/feed?nearby=1")
    assert shown_title in widened.text
    assert "Quartier voisin : Tilleuls" in widened.text
    assert kept_title not in widened.text
    widened_gifts = await paul.get("/feed?nearby=1&kind=give")
    assert shown_title in widened_gifts.text
    assert shown_title not in (await paul.get("/feed?nearby=1&kind=lend")).text

    # Le Port has no voisins: no chip, and asking for them changes nothing.
    lea = await signed_in(make_client, from_port)
    assert "Avec les quartiers voisins" not in (await lea.get("/feed")).text
    assert shown_title not in (await lea.get("/feed?nearby=1")).text


async def test_the_widened_feed_pages_through_both_quartiers_newest_first_without_repeating(make_client):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, _from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    paul = await signed_in(make_client, from_gare)
    titles = []
    for i in range(25):
        title = f"Objet {i:02d} {uuid.uuid4().hex[:4]}"
        # Alternately from Les Tilleuls (shown to the voisins) and from La Gare itself.
        await publish_post(claire if i % 2 else paul, title, nearby=True)
        titles.append(title)
    seen, url = [], "/feed?nearby=1"
    while url:
        page = await paul.get(url, headers={"HX-Request": "true"} if seen else {})
        seen += sorted((t for t in titles if t in page.text), key=page.text.index)
        more = re.search(r'<p class="more"><a href="([^"]+)"', page.text)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == list(reversed(titles))


async def test_the_author_who_unticks_the_box_closes_the_post_to_the_voisins_again(make_client):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, _from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    post_id = await publish_post(claire, "Cartons de déménagement", nearby=True)
    edit = await claire.get(f"/posts/{post_id}/edit")
    assert 'name="nearby" value="1"' in edit.text and "checked" in edit.text.split('name="nearby"')[1].split(">")[0]
    token = await ensure_csrf(claire)
    saved = await claire.post(
        f"/posts/{post_id}/edit", data={"title": "Cartons de déménagement", "body": "Encore là.", "_csrf_token": token}
    )
    assert saved.status_code == 303
    paul = await signed_in(make_client, from_gare)
    assert (await paul.get(f"/posts/{post_id}")).status_code == 404


async def test_a_voisin_signs_up_to_an_event_shown_to_the_voisins(make_client):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    assert "Visible aussi par les quartiers voisins" in (await claire.get("/events/new")).text
    starts = datetime.now(timezone.utc) + timedelta(days=5)
    token = await ensure_csrf(claire)
    made = await claire.post(
        "/events/new",
        data={
            "title": "Vide-grenier des Tilleuls",
            "body": "Un stand par famille.",
            "place": "Place des Tilleuls",
            "starts_at": local(starts),
            "ends_at": local(starts + timedelta(hours=4)),
            "nearby": "1",
            "_csrf_token": token,
        },
        files={"photo": ("", b"", "application/octet-stream")},
    )
    assert made.status_code == 303, made.text
    post_id = int(made.headers["location"].rsplit("/", 1)[1])

    paul = await signed_in(make_client, from_gare)
    token = await ensure_csrf(paul)
    joined = await paul.post(f"/posts/{post_id}/signup", data={"_csrf_token": token})
    assert joined.status_code == 303
    assert await Signup.exists().where((Signup.user == from_gare.id) & (Signup.status == "going"))

    lea = await signed_in(make_client, from_port)
    token = await ensure_csrf(lea)
    assert (await lea.post(f"/posts/{post_id}/signup", data={"_csrf_token": token})).status_code == 404

    # The organiser closes it to the voisins again from the edit form.
    edit = await claire.get(f"/events/{post_id}/edit")
    assert "checked" in edit.text.split('name="nearby"')[1].split(">")[0]
    token = await ensure_csrf(claire)
    saved = await claire.post(
        f"/events/{post_id}/edit",
        data={
            "title": "Vide-grenier des Tilleuls",
            "body": "Un stand par famille.",
            "place": "Place des Tilleuls",
            "starts_at": local(starts),
            "ends_at": local(starts + timedelta(hours=4)),
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 303, saved.text
    assert (await paul.get(f"/posts/{post_id}")).status_code == 404


ROLES = ("owner", "neighbour", "voisin", "far", "anonymous")
LOGIN = "login"
# For a post shown to the quartiers voisins: what each may do.
MATRIX = {
    "post page": (200, 200, 200, 404, LOGIN),
    "reply": (303, 303, 303, 404, LOGIN),
    "reply fragment": (200, 200, 200, 404, LOGIN),
    "photo thumb": (200, 200, 200, 404, LOGIN),
    "edit form": (200, 404, 404, 404, LOGIN),
    "edit": (303, 404, 404, 404, LOGIN),
    "status": (303, 404, 404, 404, LOGIN),
    "delete": (303, 404, 404, 404, LOGIN),
    "profile": (200, 200, 404, 404, LOGIN),
    "write to owner": (404, 200, 404, 404, LOGIN),
    "search": ("found", "found", "not found", "not found", LOGIN),
    "widened feed": ("found", "found", "found", "not found", LOGIN),
}


async def _call(client, route: str, world: dict):
    form = {"_csrf_token": client.cookies.get("csrftoken", "")}
    p = world["post"]
    calls = {
        "post page": lambda: client.get(f"/posts/{p}"),
        "reply": lambda: client.post(f"/posts/{p}/replies", data={**form, "body": "Bonjour"}),
        "reply fragment": lambda: client.post(
            f"/posts/{p}/replies", data={**form, "body": "Bonjour"}, headers={"HX-Request": "true"}
        ),
        "photo thumb": lambda: client.get(f"/photos/{world['photo']}/thumb"),
        "edit form": lambda: client.get(f"/posts/{p}/edit"),
        "edit": lambda: client.post(f"/posts/{p}/edit", data={**form, "title": "Nouveau titre", "body": "Texte"}),
        "status": lambda: client.post(f"/posts/{p}/status", data={**form, "status": "reserved"}),
        "delete": lambda: client.post(f"/posts/{p}/delete", data=form),
        "profile": lambda: client.get(f"/users/{world['owner'].id}"),
        "write to owner": lambda: client.get(f"/messages/new?to={world['owner'].id}"),
        "search": lambda: client.get("/feed", params={"q": world["title"].split()[1]}),
        "widened feed": lambda: client.get("/feed", params={"nearby": "1"}),
    }
    return await calls[route]()


@pytest.mark.parametrize("route", list(MATRIX))
async def test_what_each_may_do_with_a_post_shown_to_the_voisins(make_client, route):
    (_tilleuls, _gare, _port), (author, neighbour, from_gare, from_port) = await people_of_three_quartiers()
    owner_client = await signed_in(make_client, author)
    title = f"Objet {uuid.uuid4().hex[:8]}"
    post_id = await publish_post(owner_client, title, nearby=True, photo=True)
    photo = (await Photo.select(Photo.name).where(Photo.post == post_id).first())["name"]
    world = {"owner": author, "post": post_id, "photo": photo, "title": title}
    people = {"owner": author, "neighbour": neighbour, "voisin": from_gare, "far": from_port}
    # The owner last: what they change (delete, status) must not decide the others' answers.
    for role, expected in reversed(list(zip(ROLES, MATRIX[route], strict=True))):
        client = await make_client()
        if role != "anonymous":
            await login(client, people[role])
        await ensure_csrf(client)
        answer = await _call(client, route, world)
        if expected == LOGIN and route.endswith("fragment"):
            # htmx asked: the whole window goes to the login page.
            assert answer.status_code == 401 and answer.headers["hx-redirect"].startswith("/login")
        elif expected == LOGIN:
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (role, route)
        elif expected in ("found", "not found"):
            assert answer.status_code == 200, (role, route)
            assert (title in re.sub(r"</?mark>", "", answer.text)) == (expected == "found"), (role, route)
        else:
            assert answer.status_code == expected, (role, route, answer.status_code)
        if expected == 404:
            assert title not in answer.text, (role, route)


async def test_a_post_of_a_quartier_voisin_saved_stays_in_my_saved_list(make_client):
    (_tilleuls, _gare, _port), (author, _neighbour, from_gare, _from_port) = await people_of_three_quartiers()
    claire = await signed_in(make_client, author)
    title = f"Table de jardin {uuid.uuid4().hex[:6]}"
    post_id = await publish_post(claire, title, nearby=True)
    paul = await signed_in(make_client, from_gare)
    token = await ensure_csrf(paul)
    saved = await paul.post(f"/posts/{post_id}/save", data={"saved": "1", "_csrf_token": token})
    assert saved.status_code == 303
    assert title in (await paul.get("/saved")).text
    # Once Claire closes it to the voisins, it leaves Paul's list with the rest of her quartier.
    await Post.update({Post.nearby: False}).where(Post.id == post_id)
    assert title not in (await paul.get("/saved")).text
