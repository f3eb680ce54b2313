"""Covoiturage: a neighbour offers a ride, others take a seat and give it
back, the driver sees who rides; full and past rides say so."""

from __future__ import annotations

import asyncio
import html
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.posts.tables import Post
from app.rides import queries
from app.rides.tables import Ride, RideSeat
from tests.factories import PASSWORD, field_error, input_value, make_user, notifications_of, post_form
from tests.factories_events import local
from tests.factories_posts import neighbours, publish, signed_in
from tests.factories_rides import make_ride

PARIS = ZoneInfo("Europe/Paris")


def _saturday_morning(days: int = 4) -> datetime:
    day = datetime.now(PARIS).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=PARIS)


def _ride_form(**overrides) -> dict:
    start = _saturday_morning()
    return {
        "kind": "ride",
        "title": "Marché de Beaune samedi",
        "body": "Je peux prendre des cabas.",
        "origin": "Place de la mairie",
        "destination": "Beaune, halles",
        "departs_at": local(start),
        "seats": "2",
        "trip": "return",
        "returns_at": local(start + timedelta(hours=4)),
        **overrides,
    }


async def _told(user, text: str) -> list[str]:
    return [r["text"] for r in await notifications_of(user, "ride") if text in r["text"]]


async def test_a_driver_offers_a_ride_neighbours_take_the_seats_and_the_driver_sees_who_rides(make_client):
    _hood, (claire, paul, yasmine, hugo) = await neighbours(4)
    driver = await signed_in(make_client, claire)
    assert "Places proposées" in (await driver.get("/posts/new?kind=ride")).text
    done = await publish(driver, _ride_form())
    assert done.status_code == 303
    ride_post = int(done.headers["location"].rsplit("/", 1)[1])
    ride = await queries.for_post(ride_post)
    assert ride["departs_at"] == _saturday_morning().astimezone(timezone.utc) and ride["seats"] == 2

    paul_client = await signed_in(make_client, paul)
    feed = await paul_client.get("/feed?kind=ride")
    assert "Place de la mairie → Beaune, halles" in feed.text and "2 places libres" in feed.text
    # Without JavaScript: a plain form, then back to the post.
    taken = await post_form(paul_client, f"/posts/{ride_post}/seat")
    assert taken.status_code == 303
    page = await paul_client.get(f"/posts/{ride_post}")
    assert "Vous avez une place dans ce covoiturage." in page.text and "1 place libre" in page.text
    # Only the driver sees who rides.
    assert "Qui vient avec vous ?" not in page.text
    assert await _told(claire, "Paul V. prend une place dans votre covoiturage « Marché de Beaune samedi »")

    # With htmx: the panel alone.
    yasmine_client = await signed_in(make_client, yasmine)
    panel = await post_form(yasmine_client, f"/posts/{ride_post}/seat", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and panel.text.lstrip().startswith('<section id="ride-panel-')
    assert "Complet" in panel.text

    full = await (await signed_in(make_client, hugo)).get(f"/posts/{ride_post}")
    assert "Complet" in full.text and "Prendre une place" not in full.text
    refused = await post_form(await signed_in(make_client, hugo), f"/posts/{ride_post}/seat")
    assert refused.status_code == 422 and "Ce covoiturage est complet." in refused.text

    driver_page = await driver.get(f"/posts/{ride_post}")
    assert "Qui vient avec vous ?" in driver_page.text
    assert "Paul V." in driver_page.text and "Yasmine V." in driver_page.text

    # Paul gives his seat back: Hugo can take it.
    back = await post_form(paul_client, f"/posts/{ride_post}/seat/give-back", headers={"HX-Request": "true"})
    assert "Prendre une place" in back.text and "1 place libre" in back.text
    assert await _told(claire, "Paul V. rend sa place dans votre covoiturage")
    assert (await post_form(await signed_in(make_client, hugo), f"/posts/{ride_post}/seat")).status_code == 303
    assert (await queries.for_post(ride_post))["seats_taken"] == 2


async def test_the_driver_is_told_in_english_when_that_is_their_language(make_client):
    hood, (paul,) = await neighbours(1)
    emma = await make_user(hood, first_name="Emma", last_name="Stone", locale="en")
    ride_post = await make_ride(emma, title="Airport run")
    await post_form(await signed_in(make_client, paul), f"/posts/{ride_post}/seat")
    [note] = await notifications_of(emma, "ride", locale="en")
    assert note["text"] == f"{paul.first_name} V. takes a seat in your lift “Airport run”"


async def test_a_ride_in_the_past_cannot_be_joined(make_client):
    _hood, (claire, paul) = await neighbours(2)
    ride_post = await make_ride(claire, in_days=1)
    await Ride.update({Ride.departs_at: datetime.now(timezone.utc) - timedelta(hours=1)}).where(Ride.post == ride_post)
    paul_client = await signed_in(make_client, paul)
    page = await paul_client.get(f"/posts/{ride_post}")
    assert "Ce covoiturage est déjà parti." in page.text and "Prendre une place" not in page.text
    refused = await post_form(paul_client, f"/posts/{ride_post}/seat", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Ce covoiturage est déjà parti." in refused.text
    assert await RideSeat.count().where(RideSeat.user == paul.id) == 0


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("origin", "", "Ce champ est obligatoire."),
        ("destination", "", "Ce champ est obligatoire."),
        ("departs_at", "2020-05-01T08:00", "Cette date est déjà passée."),
        ("departs_at", "samedi matin", "Indiquez une date et une heure (jj/mm/aaaa hh:mm)."),
        ("seats", "9", "Indiquez un nombre entre 1 et 8."),
        ("seats", "0", "Indiquez un nombre entre 1 et 8."),
        ("seats", "deux", "Indiquez un nombre entier."),
        ("returns_at", "", "Ce champ est obligatoire."),
    ],
)
async def test_a_bad_ride_field_is_refused_next_to_it_with_the_input_kept(make_client, field, typed, message):
    _hood, (claire,) = await neighbours(1)
    driver = await signed_in(make_client, claire)
    refused = await publish(driver, _ride_form(**{field: typed}))
    assert refused.status_code == 422
    assert field_error(refused.text, field) == message
    assert input_value(refused.text, field) == typed
    assert input_value(refused.text, "origin") == (typed if field == "origin" else "Place de la mairie")
    assert await Post.count().where(Post.author == claire.id) == 0


async def test_a_return_before_the_outward_trip_is_refused(make_client):
    _hood, (claire,) = await neighbours(1)
    start = _saturday_morning()
    refused = await publish(
        await signed_in(make_client, claire), _ride_form(returns_at=local(start - timedelta(hours=1)))
    )
    assert field_error(refused.text, "returns_at") == "Le retour doit venir après l'aller."


@pytest.mark.parametrize("seats", [1, 3])
async def test_many_neighbours_at_once_for_the_last_seats_exactly_the_seats_are_given(seats):
    hood, (claire,) = await neighbours(1)
    ride_post = await make_ride(claire, seats=seats)
    ride = await queries.for_post(ride_post)
    people = [await make_user(hood, first_name="Voisin", last_name=f"N{i}") for i in range(20)]

    async def take(user_id: int) -> bool:
        try:
            await queries.take_seat(ride["id"], user_id)
        except queries.RideClosed:
            return False
        return True

    results = await asyncio.gather(*(take(p.id) for p in people))
    assert results.count(True) == seats
    assert await RideSeat.count().where(RideSeat.ride == ride["id"]) == seats
    assert (await queries.for_post(ride_post))["seats_taken"] == seats


async def test_my_export_holds_the_rides_i_offer_and_the_seats_i_took(make_client):
    _hood, (claire, paul) = await neighbours(2)
    offered = await make_ride(claire, title="Piscine mercredi", destination="Piscine Olympide")
    elsewhere = await make_ride(paul, title="Gare jeudi", destination="Gare de Dijon")
    claire_client = await signed_in(make_client, claire)
    await post_form(claire_client, f"/posts/{elsewhere}/seat")
    archive = zipfile.ZipFile(io.BytesIO((await claire_client.get("/settings/export")).content))
    data = json.loads(archive.read("voisinage.json"))
    assert [(r["post"], r["destination"]) for r in data["rides_offered"]] == [(offered, "Piscine Olympide")]
    assert [(s["ride.post"], s["ride.destination"]) for s in data["ride_seats"]] == [(elsewhere, "Gare de Dijon")]


async def test_deleting_my_account_gives_my_seats_back_and_tells_my_riders(make_client):
    hood, (claire, paul) = await neighbours(2)
    odile = await make_user(hood, first_name="Odile", last_name="Rivière")
    pauls_ride = await make_ride(paul, title="Gare jeudi", seats=1)
    odiles_ride = await make_ride(odile, title="Piscine mercredi")
    odile_client = await signed_in(make_client, odile)
    await post_form(odile_client, f"/posts/{pauls_ride}/seat")
    await post_form(await signed_in(make_client, claire), f"/posts/{odiles_ride}/seat")

    gone = await post_form(odile_client, "/settings/delete", {"password": PASSWORD, "confirm": "1"})
    assert gone.status_code == 303
    assert await RideSeat.count().where(RideSeat.user == odile.id) == 0
    assert (await queries.for_post(pauls_ride))["seats_taken"] == 0
    assert await _told(paul, "Une place s'est libérée dans votre covoiturage « Gare jeudi »")
    assert await _told(claire, "Le covoiturage « Piscine mercredi » n'aura pas lieu")
    # The seat is free for someone else; the deleted driver's ride takes no one.
    assert (await post_form(await signed_in(make_client, claire), f"/posts/{pauls_ride}/seat")).status_code == 303
    refused = await post_form(await signed_in(make_client, paul), f"/posts/{odiles_ride}/seat")
    assert refused.status_code == 422 and "Ce covoiturage n'est plus proposé." in html.unescape(refused.text)


async def test_the_driver_edits_the_trip_riders_are_told_and_seats_never_drop_below_those_taken(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
    ride_post = await make_ride(claire, title="Marché de Beaune", seats=3)
    for rider in (paul, yasmine):
        await post_form(await signed_in(make_client, rider), f"/posts/{ride_post}/seat")
    driver = await signed_in(make_client, claire)
    form = await driver.get(f"/posts/{ride_post}/edit")
    assert input_value(form.text, "destination") == "Dijon, gare" and input_value(form.text, "seats") == "3"
    fields = {name: input_value(form.text, name) for name in ("title", "origin", "destination", "departs_at")}
    fields["body"] = "Je pars tôt."
    too_few = await post_form(driver, f"/posts/{ride_post}/edit", {**fields, "seats": "1", "trip": "one_way"})
    assert too_few.status_code == 422
    assert field_error(too_few.text, "seats") == "2 personnes ont déjà une place : gardez au moins autant de places."
    assert input_value(too_few.text, "seats") == "1"
    later = _saturday_morning(days=6)
    moved = await post_form(
        driver,
        f"/posts/{ride_post}/edit",
        {**fields, "departs_at": local(later), "seats": "2", "trip": "one_way"},
    )
    assert moved.status_code == 303
    ride = await queries.for_post(ride_post)
    assert (ride["seats"], ride["seats_taken"], ride["departs_at"]) == (2, 2, later.astimezone(timezone.utc))
    assert await _told(paul, "Le covoiturage « Marché de Beaune » change : départ")
    assert await _told(yasmine, "Le covoiturage « Marché de Beaune » change : départ")


async def test_the_driver_deletes_a_ride_still_to_come_and_each_rider_is_told_it_will_not_happen(make_client):
    _hood, (claire, paul, yasmine, lea) = await neighbours(4)
    to_come = await make_ride(claire, title="Marché de Beaune", seats=3)
    gone_by = await make_ride(claire, title="Gare lundi dernier", seats=2)
    for rider in (paul, yasmine):
        await post_form(await signed_in(make_client, rider), f"/posts/{to_come}/seat")
    await post_form(await signed_in(make_client, lea), f"/posts/{gone_by}/seat")
    # Léa's ride has left since: deleting it afterwards cancels nothing.
    await Ride.update({Ride.departs_at: datetime.now(timezone.utc) - timedelta(days=3)}).where(Ride.post == gone_by)
    driver = await signed_in(make_client, claire)

    for post_id in (to_come, gone_by):
        assert (await post_form(driver, f"/posts/{post_id}/delete")).status_code == 303

    for rider in (paul, yasmine):
        told = await notifications_of(rider, "ride")
        assert [n["text"] for n in told] == [
            "Le covoiturage « Marché de Beaune » n'aura pas lieu : son conducteur l'a retiré."
        ]
        # The post is gone: the notice leads to the rides still offered, not to a missing page.
        assert (await (await signed_in(make_client, rider)).get(told[0]["url"])).status_code == 200
    assert [n["text"] for n in await notifications_of(paul, "ride", locale="en")] == [
        "The lift “Marché de Beaune” will not happen: its driver took it down."
    ]
    assert await notifications_of(lea, "ride") == []
    assert not [n for n in await notifications_of(claire, "ride") if "n'aura pas lieu" in n["text"]]
