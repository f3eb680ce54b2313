"""Events: organising, signing up, the waiting list, changes, calendars."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from app.events import queries
from app.events.tables import Event, Signup
from app.posts.tables import Photo
from tests.factories import ensure_csrf, field_error, notifications_of, post_form
from tests.factories_events import local, make_event
from tests.factories_posts import jpeg_bytes, neighbours, png_bytes, signed_in

PARIS = ZoneInfo("Europe/Paris")


def _future(days: int = 5, hour: int = 19) -> datetime:
    day = datetime.now(PARIS).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)


async def _notes(user, text: str) -> list[dict]:
    return [r for r in await notifications_of(user, "event") if text in r["text"]]


async def _create(client, photo=("", b"", "application/octet-stream"), **overrides):
    start = _future()
    data = {
        "title": "Vide-grenier de la rue",
        "body": "Installez vos stands dès 8 h.",
        "place": "Rue Monge",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=4)),
        "capacity": "",
        **overrides,
    }
    token = await ensure_csrf(client)
    return await client.post("/events/new", data={**data, "_csrf_token": token}, files={"photo": photo})


async def test_organiser_creates_an_event_shown_in_the_feed_and_the_calendar(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, claire)
    assert (await client.get("/posts/new?kind=event")).headers["location"] == "/events/new"
    assert (await client.get("/events/new")).status_code == 200
    from babel.dates import format_date

    start = _future(days=20, hour=19)
    done = await _create(client, starts_at=local(start), ends_at=local(start + timedelta(hours=4)))
    assert done.status_code == 303
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    event = await queries.for_post(post_id)
    # The wall-clock time typed in Paris is stored as the right instant…
    assert event["starts_at"] == start.astimezone(timezone.utc)
    paul_client = await signed_in(make_client, paul)
    page = await paul_client.get(f"/posts/{post_id}")
    # …and shown back in French, at the hour typed.
    day = format_date(start.date(), "EEEE d MMMM", locale="fr").replace(" 1 ", " 1er ")
    assert f"{day} à 19 h" in page.text
    feed = await paul_client.get("/feed")
    assert "Vide-grenier de la rue" in feed.text and "Rue Monge" in feed.text
    listing = await paul_client.get("/events")
    assert "Vide-grenier de la rue" in listing.text


async def test_an_event_poster_too_big_is_refused_next_to_the_field_and_a_fitting_one_kept(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    refused = await _create(client, photo=("affiche.png", png_bytes(7000, 5000), "image/png"), title="Fête des voisins")
    assert refused.status_code == 422
    assert "Cette photo est trop grande : « affiche.png » compte 35 mégapixels" in field_error(refused.text, "photo")
    assert 'value="Fête des voisins"' in refused.text
    done = await _create(client, photo=("affiche.jpg", jpeg_bytes(1600, 1200), "image/jpeg"), title="Fête des voisins")
    assert done.status_code == 303
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    assert [(p["width"], p["height"]) for p in await Photo.select().where(Photo.post == post_id)] == [(1280, 960)]


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"place": ""}, "place", "obligatoire"),
        ({"title": ""}, "title", "obligatoire"),
        ({"capacity": "0"}, "capacity", "entre 1 et 5000"),
        ({"capacity": "-3"}, "capacity", "entre 1 et 5000"),
        ({"capacity": "1000000"}, "capacity", "entre 1 et 5000"),
        ({"capacity": "beaucoup"}, "capacity", "nombre entier"),
        ({"starts_at": "demain soir"}, "starts_at", "Indiquez une date"),
        ({"starts_at": "2020-01-01T10:00", "ends_at": "2020-01-01T12:00"}, "starts_at", "déjà passée"),
    ],
)
async def test_bad_event_input_is_explained_and_kept(make_client, overrides, field, message):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    before = await Event.count()
    response = await _create(client, **overrides)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert "Installez vos stands dès 8 h." in response.text
    assert await Event.count() == before


async def test_end_before_start_is_refused(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    start = _future()
    response = await _create(client, starts_at=local(start), ends_at=local(start - timedelta(hours=1)))
    assert response.status_code == 422 and "après le début" in field_error(response.text, "ends_at")
    assert f'value="{local(start)}"' in response.text


async def test_full_event_puts_neighbours_on_the_waiting_list_and_promotes_them(make_client):
    _neighbourhood, (claire, paul, yasmine, hugo) = await neighbours(4)
    post_id = await make_event(claire, capacity=1)
    paul_client = await signed_in(make_client, paul)
    yasmine_client = await signed_in(make_client, yasmine)
    assert "Je participe" in (await paul_client.get(f"/posts/{post_id}")).text
    first = await post_form(paul_client, f"/posts/{post_id}/signup")
    assert first.status_code == 303 and first.headers["location"] == f"/posts/{post_id}#event"
    again = await post_form(paul_client, f"/posts/{post_id}/signup")
    assert again.status_code == 303
    page = await yasmine_client.get(f"/posts/{post_id}")
    assert "Liste d&#39;attente" in page.text or "Liste d'attente" in page.text
    assert "0 place restante" in page.text and "Paul V." in page.text
    await post_form(yasmine_client, f"/posts/{post_id}/signup")
    assert "liste d&#39;attente (n° 1)" in (await yasmine_client.get(f"/posts/{post_id}")).text.replace("'", "&#39;")

    event = await queries.for_post(post_id)
    assert (event["going_count"], event["waitlist_count"]) == (1, 1)
    # Withdrawing when not signed up changes nothing.
    hugo_client = await signed_in(make_client, hugo)
    assert (await post_form(hugo_client, f"/posts/{post_id}/signup/cancel")).status_code == 303
    await post_form(paul_client, f"/posts/{post_id}/signup/cancel")
    event = await queries.for_post(post_id)
    assert (event["going_count"], event["waitlist_count"]) == (1, 0)
    assert (await queries.my_signup(event["id"], yasmine.id))["status"] == "going"
    assert len(await _notes(yasmine, "Une place s'est libérée")) == 1


async def test_with_htmx_the_button_and_the_count_swap_in_place(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, capacity=10)
    client = await signed_in(make_client, paul)
    response = await post_form(client, f"/posts/{post_id}/signup", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<section id="event-panel-{post_id}"')
    assert (
        "1 personne inscrite" in response.text
        and "9 places restantes" in response.text
        and "Me désinscrire" in response.text
    )
    back = await post_form(client, f"/posts/{post_id}/signup/cancel", headers={"HX-Request": "true"})
    assert "Je participe" in back.text and "0 personne inscrite" in back.text


async def test_cancelled_or_past_events_refuse_signups_clearly(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    cancelled = await make_event(claire)
    claire_client = await signed_in(make_client, claire)
    await post_form(claire_client, f"/events/{cancelled}/cancel")
    client = await signed_in(make_client, paul)
    page = await client.get(f"/posts/{cancelled}")
    assert "Annulé" in page.text and "Je participe" not in page.text
    refused = await post_form(client, f"/posts/{cancelled}/signup")
    assert refused.status_code == 422 and "annulé" in refused.text
    started = await make_event(claire, in_days=-0.05, hours=5)
    refused = await post_form(client, f"/posts/{started}/signup", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "déjà commencé" in refused.text
    assert await Signup.count().where(Signup.user == paul.id) == 0


async def test_organiser_changes_the_time_and_attendees_are_told(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_event(claire, capacity=5)
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/signup")
    assert (await paul_client.get(f"/events/{post_id}/edit")).status_code == 404
    client = await signed_in(make_client, claire)
    form = await client.get(f"/events/{post_id}/edit")
    assert form.status_code == 200
    start = _future(days=6, hour=18)
    data = {
        "title": "Repas de quartier",
        "body": "Chacun apporte un plat.",
        "place": "Jardin partagé",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=3)),
        "capacity": "5",
    }
    done = await post_form(client, f"/events/{post_id}/edit", data)
    assert done.status_code == 303
    told = await _notes(paul, "change")
    assert len(told) == 1 and f"{start.day} " in told[0]["text"] and "à 18 h, Jardin partagé" in told[0]["text"]
    assert await _notes(yasmine, "change") == []
    yasmine_client = await signed_in(make_client, yasmine)
    await post_form(yasmine_client, f"/posts/{post_id}/signup")
    too_small = await post_form(client, f"/events/{post_id}/edit", {**data, "capacity": "1"})
    assert too_small.status_code == 422 and "2 personnes sont déjà inscrites" in field_error(too_small.text, "capacity")
    await post_form(client, f"/events/{post_id}/cancel")
    assert len(await _notes(paul, "est annulé")) == 1 and len(await _notes(yasmine, "est annulé")) == 1
    assert "Annulé" in (await paul_client.get("/events")).text


async def test_one_event_exports_to_ics_in_paris_time(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, title="Atelier réparation")
    client = await signed_in(make_client, paul)
    response = await client.get(f"/posts/{post_id}/event.ics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    [vevent] = list(cal.walk("VEVENT"))
    event = await queries.for_post(post_id)
    assert vevent["UID"] == f"event-{event['id']}@127.0.0.1"
    assert vevent.get("DTSTAMP") is not None
    start = vevent.decoded("DTSTART")
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert start == event["starts_at"] and start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert list(cal.walk("VTIMEZONE")) and vevent["SUMMARY"] == "Atelier réparation"


async def test_calendar_subscription_link_opens_only_its_quartier_and_can_be_replaced(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    _other, (stranger,) = await neighbours(1)
    await make_event(claire, title="Pique-nique du square")
    await make_event(stranger, title="Fête d'ailleurs")
    client = await signed_in(make_client, claire)
    made = await post_form(client, "/events/calendar")
    url = re.search(r'value="(http[^"]+/events\.ics\?token=[^"]+)"', made.text).group(1)
    path = url.split("127.0.0.1:8000", 1)[-1] if "127.0.0.1:8000" in url else url[url.index("/events.ics") :]
    anonymous = await make_client()
    feed = await anonymous.get(path)
    assert feed.status_code == 200
    titles = [str(e["SUMMARY"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert "Pique-nique du square" in titles and "Fête d'ailleurs" not in titles
    await post_form(client, "/events/calendar")
    assert (await anonymous.get(path)).status_code == 404
    assert (await anonymous.get("/events.ics?token=devine-moi-si-tu-peux")).status_code == 404


async def test_everyone_going_is_reminded_the_day_before_once(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_event(claire, in_days=1.5, title="Apéro du vendredi")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/signup")
    event = await queries.for_post(post_id)
    day_before = event["starts_at"] - timedelta(days=1)
    await queries.send_event_reminders(day_before)
    await queries.send_event_reminders(day_before)
    assert len(await _notes(paul, "Demain")) == 1
    assert await _notes(yasmine, "Demain") == []


@pytest.mark.parametrize("role", ["organiser", "neighbour", "outsider", "anonymous"])
async def test_events_of_another_quartier_do_not_exist(make_client, role):
    _neighbourhood, (claire, paul) = await neighbours(2)
    _other, (stranger,) = await neighbours(1)
    post_id = await make_event(claire, title="Fête secrète")
    who = {"organiser": claire, "neighbour": paul, "outsider": stranger}.get(role)
    client = await signed_in(make_client, who) if who else await make_client()
    await ensure_csrf(client)
    responses = {
        "page": await client.get(f"/posts/{post_id}"),
        "ics": await client.get(f"/posts/{post_id}/event.ics"),
        "signup": await post_form(client, f"/posts/{post_id}/signup"),
        "panel": await post_form(client, f"/posts/{post_id}/signup/cancel", headers={"HX-Request": "true"}),
        "edit": await client.get(f"/events/{post_id}/edit"),
        "list": await client.get("/events"),
    }
    if role == "anonymous":
        # htmx asked for the panel: the whole window goes to the login page.
        panel = responses.pop("panel")
        assert panel.status_code == 401 and panel.headers["hx-redirect"].startswith("/login")
        assert all(r.status_code == 303 and r.headers["location"].startswith("/login") for r in responses.values())
    elif role == "outsider":
        assert {k: r.status_code for k, r in responses.items() if k != "list"} == {
            "page": 404,
            "ics": 404,
            "signup": 404,
            "panel": 404,
            "edit": 404,
        }
        assert "Fête secrète" not in responses["list"].text
    else:
        assert responses["page"].status_code == 200 and responses["ics"].status_code == 200
        assert "Fête secrète" in responses["list"].text
        assert responses["edit"].status_code == (200 if role == "organiser" else 404)


async def test_the_calendar_pages_on_to_later_events(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    for n in range(1, 33):
        await make_event(claire, title=f"Atelier n°{n:02d}", in_days=n)
    client = await signed_in(make_client, claire)
    first = await client.get("/events")
    assert "Atelier n°01" in first.text and "Atelier n°30" in first.text and "Atelier n°31" not in first.text
    more = re.search(r'<a href="([^"]+)">Événements suivants</a>', first.text)
    assert more
    following = await client.get(more.group(1).replace("&amp;", "&"))
    assert following.status_code == 200
    assert "Atelier n°31" in following.text and "Atelier n°32" in following.text
    assert "Atelier n°30" not in following.text


async def test_the_organiser_deletes_an_event_still_to_come_and_everyone_signed_up_is_told(make_client):
    _hood, (claire, paul, yasmine, hugo) = await neighbours(4)
    post_id = await make_event(claire, title="Repas de la rue Monge", capacity=1)
    for neighbour in (paul, yasmine, hugo):
        await post_form(await signed_in(make_client, neighbour), f"/posts/{post_id}/signup")
    # Paul has the seat, Yasmine waits for one; Hugo changed his mind.
    await post_form(await signed_in(make_client, hugo), f"/posts/{post_id}/signup/cancel")
    cancelled_earlier = await make_event(claire, title="Pique-nique annulé")
    await post_form(await signed_in(make_client, paul), f"/posts/{cancelled_earlier}/signup")
    organiser = await signed_in(make_client, claire)
    await post_form(organiser, f"/events/{cancelled_earlier}/cancel")

    for event_post in (post_id, cancelled_earlier):
        assert (await post_form(organiser, f"/posts/{event_post}/delete")).status_code == 303

    for neighbour in (paul, yasmine):
        told = await _notes(neighbour, "n'aura pas lieu")
        assert [n["text"] for n in told] == ["« Repas de la rue Monge » n'aura pas lieu : son annonce a été retirée."]
        assert (await (await signed_in(make_client, neighbour)).get(told[0]["url"])).status_code == 200
    # Hugo had withdrawn; the cancelled picnic was told once, when it was cancelled.
    assert await _notes(hugo, "n'aura pas lieu") == []
    assert [n["text"] for n in await _notes(paul, "Pique-nique")] == ["« Pique-nique annulé » est annulé."]
    assert await _notes(claire, "n'aura pas lieu") == []
