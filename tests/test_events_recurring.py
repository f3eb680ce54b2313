"""Recurring events: weekly or monthly dates, signups date by date, one .ics with an RRULE."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar

from app.events import queries
from app.events.recurrence import Rule, dates, moved, wall_clock_change
from app.events.tables import Occurrence
from tests.factories import field_error, input_value, make_user, notifications_of, post_form
from tests.factories_events import local
from tests.factories_posts import neighbours, signed_in

PARIS = ZoneInfo("Europe/Paris")


def _paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def _local_starts(found):
    return [start.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M") for start, _end in found]


def test_weekly_dates_keep_their_paris_hour_across_the_change_of_time():
    # 18:00 on Thursdays around the end of summer time (25 October 2026).
    start = _paris(2026, 10, 15, 18, 0)
    found = dates(start, start + timedelta(hours=2), Rule("weekly", count=3))
    assert _local_starts(found) == ["Thu 2026-10-15 18:00", "Thu 2026-10-22 18:00", "Thu 2026-10-29 18:00"]
    # The same wall-clock hour is another UTC instant once winter time starts.
    assert [s.astimezone(timezone.utc).hour for s, _e in found] == [16, 16, 17]
    assert all(e - s == timedelta(hours=2) for s, e in found)


def test_a_series_moved_half_an_hour_later_keeps_the_new_hour_on_both_sides_of_the_change_of_time():
    start = _paris(2026, 10, 15, 18, 0)
    found = dates(start, start + timedelta(hours=2), Rule("weekly", count=3))
    shift, length = wall_clock_change(found[0], (_paris(2026, 10, 15, 18, 30), _paris(2026, 10, 15, 21, 0)))
    later = [moved(s, shift, length) for s, _e in found]
    assert _local_starts(later) == ["Thu 2026-10-15 18:30", "Thu 2026-10-22 18:30", "Thu 2026-10-29 18:30"]
    assert all(e - s == timedelta(hours=2, minutes=30) for s, e in later)


def test_every_two_weeks_until_a_date():
    start = _paris(2027, 1, 4, 9, 30)
    found = dates(start, start + timedelta(hours=1), Rule("weekly", interval=2, until=date(2027, 2, 15)))
    assert _local_starts(found) == [
        "Mon 2027-01-04 09:30",
        "Mon 2027-01-18 09:30",
        "Mon 2027-02-01 09:30",
        "Mon 2027-02-15 09:30",
    ]


def test_monthly_on_the_second_tuesday():
    start = _paris(2027, 1, 12, 20, 0)  # the 2nd Tuesday of January 2027
    found = dates(start, start + timedelta(hours=2), Rule("monthly", nth=2, count=4))
    assert _local_starts(found) == [
        "Tue 2027-01-12 20:00",
        "Tue 2027-02-09 20:00",
        "Tue 2027-03-09 20:00",
        "Tue 2027-04-13 20:00",
    ]


def test_monthly_on_the_last_saturday_over_the_spring_change_of_time():
    start = _paris(2027, 1, 30, 10, 0)
    found = dates(start, start + timedelta(hours=3), Rule("monthly", nth=-1, count=4))
    assert _local_starts(found) == [
        "Sat 2027-01-30 10:00",
        "Sat 2027-02-27 10:00",
        "Sat 2027-03-27 10:00",
        "Sat 2027-04-24 10:00",
    ]


def test_a_series_stops_after_a_year_and_52_dates():
    start = _paris(2027, 1, 4, 9, 30)
    weekly = dates(start, start + timedelta(hours=1), Rule("weekly", until=date(2030, 1, 1)))
    assert len(weekly) == 52
    monthly = dates(start, start + timedelta(hours=1), Rule("monthly", nth=1, until=date(2030, 1, 1)))
    assert len(monthly) == 13 and monthly[-1][0].astimezone(PARIS).date() == date(2028, 1, 3)


def _next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    today = datetime.now(PARIS).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


async def _create_series(client, **overrides):
    day = _next_weekday(1)
    start = datetime(day.year, day.month, day.day, 18, 0, tzinfo=PARIS)
    data = {
        "title": "Atelier réparation vélo",
        "body": "Chaque mardi soir, au local associatif.",
        "place": "Local de la rue Monge",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=2)),
        "capacity": "1",
        "repeat": "weekly",
        "repeat_every": "1",
        "repeat_until": "",
        "repeat_count": "6",
        **overrides,
    }
    return await post_form(client, "/events/new", data, files={"photo": ("", b"", "application/octet-stream")})


async def test_a_weekly_event_with_signups_date_by_date(make_client):
    _neighbourhood, (claire, paul, lea) = await neighbours(3)
    claire_client = await signed_in(make_client, claire)
    done = await _create_series(claire_client)
    assert done.status_code == 303
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    event = await queries.for_post(post_id)
    series = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.starts_at)
    assert len(series) == 6 and all(o["starts_at"].astimezone(PARIS).hour == 18 for o in series)

    # Paul comes only on the second Tuesday.
    paul_client = await signed_in(make_client, paul)
    page = await paul_client.get(f"/posts/{post_id}")
    assert "Chaque semaine, le mardi" in page.text and page.text.count('name="occurrence"') == 6
    second = series[1]["id"]
    joined = await post_form(paul_client, f"/posts/{post_id}/signup", {"occurrence": str(second)})
    assert joined.status_code == 303
    counts = {o["id"]: o["going_count"] for o in await Occurrence.select().where(Occurrence.event == event["id"])}
    assert counts[second] == 1 and sum(counts.values()) == 1

    # One place per date: Léa waits on the second date, and gets the first straight away.
    lea_client = await signed_in(make_client, lea)
    fragment = await post_form(
        lea_client, f"/posts/{post_id}/signup", {"occurrence": str(second)}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "Vous êtes sur la liste d'attente (n° 1)." in fragment.text
    await post_form(lea_client, f"/posts/{post_id}/signup", {"occurrence": str(series[0]["id"])})
    page = await lea_client.get(f"/posts/{post_id}")
    first_item = page.text.split(f'id="date-{series[0]["id"]}"')[1].split("</li>")[0]
    second_item = page.text.split(f'id="date-{second}"')[1].split("</li>")[0]
    assert "Vous participez." in first_item and "1 personne inscrite" in first_item
    assert "1 en liste d'attente" in second_item and "liste d'attente (n° 1)" in second_item

    # A date of another event is no date of this one.
    other = await _create_series(claire_client, title="Autre série")
    other_event = await queries.for_post(int(other.headers["location"].rsplit("/", 1)[1]))
    foreign = await Occurrence.select(Occurrence.id).where(Occurrence.event == other_event["id"]).first()
    assert (
        await post_form(paul_client, f"/posts/{post_id}/signup", {"occurrence": str(foreign["id"])})
    ).status_code == 404

    # The organiser cancels the second date: Paul and Léa are told, the first date stays.
    cancelled = await post_form(claire_client, f"/events/{post_id}/dates/{second}/cancel")
    assert cancelled.status_code == 303
    for person in (paul, lea):
        notes = [n["text"] for n in await notifications_of(person, "event")]
        assert any("« Atelier réparation vélo » n'a pas lieu le" in n for n in notes), notes
    page = await lea_client.get(f"/posts/{post_id}")
    second_item = page.text.split(f'id="date-{second}"')[1].split("</li>")[0]
    assert "Annulé" in second_item and 'name="occurrence"' not in second_item
    closed = await post_form(paul_client, f"/posts/{post_id}/signup", {"occurrence": str(second)})
    assert closed.status_code == 422 and "annulé" in closed.text
    # Paul gives his place back on a date: the waiting list there moves up, not elsewhere.
    assert (await Occurrence.select().where(Occurrence.id == series[0]["id"]).first())["going_count"] == 1

    # The .ics is one series: RRULE, DTSTART in Paris time, the cancelled date excluded.
    ics = await paul_client.get(f"/posts/{post_id}/event.ics")
    calendar = Calendar.from_ical(ics.content)
    [vevent] = calendar.walk("VEVENT")
    rule = vevent["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["COUNT"] == [6]
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert vevent.decoded("DTSTART") == series[0]["starts_at"]
    assert [moment.dt for moment in vevent["EXDATE"].dts] == [series[1]["starts_at"]]
    assert exdates_tzid(ics.content) == "Europe/Paris"

    # /events lists each date, the second marked cancelled.
    listing = await paul_client.get("/events")
    assert listing.text.count("Atelier réparation vélo") == 6 and "Se répète" in listing.text

    # My export holds my signups, date by date.
    export = await paul_client.get("/settings/export")
    data = json.loads(zipfile.ZipFile(io.BytesIO(export.content)).read("voisinage.json"))
    assert [(s["occurrence"], s["status"]) for s in data["event_signups"]] == [(second, "going")]


def exdates_tzid(raw: bytes) -> str:
    match = re.search(rb"EXDATE;TZID=([^:;]+)", raw)
    return match.group(1).decode() if match else ""


async def test_bad_repeat_choices_are_explained_at_the_field(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    # Tuesday the 2nd week of a month is never its last one.
    answer = await _create_series(client, repeat="monthly_last", repeat_count="4")
    day = _next_weekday(1)
    if (day + timedelta(days=7)).month == day.month:
        assert answer.status_code == 422
        assert "dernier de ce jour de la semaine" in field_error(answer.text, "repeat")
        assert 'value="monthly_last" checked' in answer.text
    nothing = await _create_series(client, repeat_count="")
    assert nothing.status_code == 422
    assert "jusqu'à quand" in field_error(nothing.text, "repeat_until")
    both = await _create_series(client, repeat_until="2099-01-01", repeat_count="3")
    assert both.status_code == 422 and "pas les deux" in field_error(both.text, "repeat_count")
    assert input_value(both.text, "title") == "Atelier réparation vélo"
    far = await _create_series(client, repeat_count="", repeat_until=str(day + timedelta(days=400)))
    assert far.status_code == 422 and "Un an au plus" in field_error(far.text, "repeat_until")
    many = await _create_series(client, repeat_count="53")
    assert many.status_code == 422 and "entre 2 et 52" in field_error(many.text, "repeat_count")


async def test_the_last_place_of_one_date_goes_to_exactly_one_person():
    neighbourhood, (claire,) = await neighbours(1)
    people = [await make_user(neighbourhood, first_name="Voisin", last_name=f"N{i}") for i in range(8)]
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    post_id = await queries.create_event(
        author=claire,
        title="Cours de yoga",
        body="Tapis fournis.",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        place="Salle paroissiale",
        capacity=1,
        photos=[],
        rule=Rule("weekly", count=3),
    )
    event = await queries.for_post(post_id)
    first, second, _third = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.id)
    results = await asyncio.gather(*(queries.sign_up(event["id"], p.id, occurrence_id=second["id"]) for p in people))
    assert sorted(r.status for r in results) == ["going"] + ["waitlist"] * 7
    row = await Occurrence.select().where(Occurrence.id == second["id"]).first()
    assert (row["going_count"], row["waitlist_count"]) == (1, 7)
    untouched = await Occurrence.select().where(Occurrence.id == first["id"]).first()
    assert (untouched["going_count"], untouched["waitlist_count"]) == (0, 0)
    # The one place given back goes to the first in line, on that date only.
    winner = next(p for p, r in zip(people, results, strict=True) if r.status == "going")
    await queries.leave(event["id"], winner.id, occurrence_id=second["id"])
    row = await Occurrence.select().where(Occurrence.id == second["id"]).first()
    assert (row["going_count"], row["waitlist_count"]) == (1, 6)


async def test_reminders_go_date_by_date_to_those_coming_that_day():
    neighbourhood, (claire, paul, lea) = await neighbours(3)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    post_id = await queries.create_event(
        author=claire,
        title="Club de lecture",
        body="Ce mois-ci : un roman.",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Médiathèque",
        capacity=None,
        photos=[],
        rule=Rule("weekly", count=3),
    )
    event = await queries.for_post(post_id)
    first, second, _third = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.id)
    await queries.sign_up(event["id"], paul.id, occurrence_id=first["id"])
    await queries.sign_up(event["id"], lea.id, occurrence_id=second["id"])
    day_before_second = second["starts_at"] - timedelta(days=1)
    # Other quartiers' events may be due the same day: count only this one's notifications.
    await queries.send_event_reminders(day_before_second)
    await queries.send_event_reminders(day_before_second)
    reminders = [n["text"] for n in await notifications_of(lea, "event")]
    assert len(reminders) == 1 and reminders[0].startswith("Demain à") and "Club de lecture" in reminders[0]
    assert not await notifications_of(paul, "event")
    assert (await Occurrence.select().where(Occurrence.id == first["id"]).first())["reminded_at"] is None


async def test_an_event_on_one_date_keeps_working_as_before(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    post_id = await queries.create_event(
        author=claire,
        title="Repas de quartier",
        body="Chacun apporte un plat.",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        place="Square Darcy",
        capacity=None,
        photos=[],
    )
    client = await signed_in(make_client, paul)
    assert (await post_form(client, f"/posts/{post_id}/signup")).status_code == 303
    page = await client.get(f"/posts/{post_id}")
    assert "Vous participez." in page.text and 'name="occurrence"' not in page.text
    assert (await queries.for_post(post_id))["going_count"] == 1


async def test_leaving_voisinage_gives_back_each_date_and_moves_its_waiting_list_up():
    from app.privacy.queries import erase_account

    _neighbourhood, (claire, paul, lea) = await neighbours(3)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=4)
    post_id = await queries.create_event(
        author=claire,
        title="Jardin partagé",
        body="Arrosage et récolte.",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Jardin de la rue Monge",
        capacity=1,
        photos=[],
        rule=Rule("weekly", count=2),
    )
    event = await queries.for_post(post_id)
    first, second = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.id)
    await queries.sign_up(event["id"], paul.id, occurrence_id=first["id"])
    await queries.sign_up(event["id"], paul.id, occurrence_id=second["id"])
    assert (await queries.sign_up(event["id"], lea.id, occurrence_id=second["id"])).status == "waitlist"
    await erase_account(paul.id)
    rows = {o["id"]: o for o in await Occurrence.select().where(Occurrence.event == event["id"])}
    assert (rows[first["id"]]["going_count"], rows[second["id"]]["going_count"]) == (0, 1)
    assert rows[second["id"]]["waitlist_count"] == 0
    assert (await queries.my_occurrence_signups(event["id"], [second["id"]], lea.id))[second["id"]]["status"] == "going"
    assert any("Une place s'est libérée" in n["text"] for n in await notifications_of(lea, "event"))
    # Claire leaves: her series is cancelled as a whole, its dates closed.
    await erase_account(claire.id)
    assert (await queries.for_post(post_id))["cancelled_at"] is not None


async def test_a_series_whose_first_date_is_past_is_still_on(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
    post_id = await queries.create_event(
        author=claire,
        title="Pétanque du dimanche",
        body="Boules prêtées.",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Place du marché",
        capacity=None,
        photos=[],
        rule=Rule("weekly", count=3),
    )
    client = await signed_in(make_client, paul)
    page = await client.get(f"/posts/{post_id}")
    assert "Terminé" not in page.text and "À venir" in page.text
    # The past date offers no signup; the two to come do.
    assert page.text.count('name="occurrence"') == 2
    feed = await client.get("/feed")
    card = feed.text.split("Pétanque du dimanche")[1].split("</li>")[0]
    assert "Se répète" in card


async def test_a_series_hidden_by_moderation_leaves_the_calendar(make_client):
    from tests.factories import make_moderator

    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    claire_client = await signed_in(make_client, claire)
    done = await _create_series(claire_client, title="Soirée jeux douteuse")
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    paul_client = await signed_in(make_client, paul)
    assert (await paul_client.get("/events")).text.count("Soirée jeux douteuse") == 6
    mod = await signed_in(make_client, moderator)
    hidden = await post_form(mod, f"/moderation/posts/{post_id}/hide", {"reason": "Hors sujet"})
    assert hidden.status_code == 303
    assert "Soirée jeux douteuse" not in (await paul_client.get("/events")).text


async def _weekly_series(client) -> tuple[int, dict, list[dict]]:
    """The organiser's new weekly series: its post, its event and its six dates in order."""
    post_id = int((await _create_series(client)).headers["location"].rsplit("/", 1)[1])
    event = await queries.for_post(post_id)
    return (
        post_id,
        event,
        await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.starts_at),
    )


async def test_deleting_a_series_tells_those_signed_up_for_a_date_still_to_come(make_client):
    _neighbourhood, (claire, paul, lea) = await neighbours(3)
    claire_client = await signed_in(make_client, claire)
    post_id, event, series = await _weekly_series(claire_client)
    await post_form(
        await signed_in(make_client, paul), f"/posts/{post_id}/signup", {"occurrence": str(series[2]["id"])}
    )
    await post_form(await signed_in(make_client, lea), f"/posts/{post_id}/signup", {"occurrence": str(series[0]["id"])})
    # Léa's date has gone by since.
    past = datetime.now(timezone.utc) - timedelta(days=1)
    await Occurrence.update({Occurrence.starts_at: past, Occurrence.ends_at: past + timedelta(hours=2)}).where(
        Occurrence.id == series[0]["id"]
    )

    assert (await post_form(claire_client, f"/posts/{post_id}/delete")).status_code == 303

    told = [n["text"] for n in await notifications_of(paul, "event") if "n'aura pas lieu" in n["text"]]
    assert told == ["« Atelier réparation vélo » n'aura pas lieu : son annonce a été retirée."]
    assert [n for n in await notifications_of(lea, "event") if "n'aura pas lieu" in n["text"]] == []


async def test_the_organiser_moves_a_series_half_an_hour_later_and_each_neighbour_coming_is_told_once(make_client):
    _neighbourhood, (claire, paul, lea) = await neighbours(3)
    claire_client = await signed_in(make_client, claire)
    post_id, event, series = await _weekly_series(claire_client)
    paul_client = await signed_in(make_client, paul)
    for date_id in (series[2]["id"], series[4]["id"]):
        await post_form(paul_client, f"/posts/{post_id}/signup", {"occurrence": str(date_id)})
    await post_form(await signed_in(make_client, lea), f"/posts/{post_id}/signup", {"occurrence": str(series[1]["id"])})
    form = await claire_client.get(f"/events/{post_id}/edit")
    assert "toutes les dates suivent" in html.unescape(form.text)
    fields = {name: input_value(form.text, name) for name in ("title", "place", "capacity", "starts_at")}
    fields["body"] = "Chaque mardi soir, au local associatif."
    first_day = fields["starts_at"][:10]

    # Another day is refused at its field, what was typed kept: the days make the series.
    wednesday = (series[0]["starts_at"].astimezone(PARIS) + timedelta(days=1)).strftime("%Y-%m-%d")
    refused = await post_form(
        claire_client,
        f"/events/{post_id}/edit",
        {**fields, "starts_at": f"{wednesday}T18:00", "ends_at": f"{wednesday}T20:00"},
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "starts_at").startswith("Une série garde ses jours")
    assert input_value(refused.text, "starts_at") == f"{wednesday}T18:00"

    # Paul's date was already reminded at its old hour.
    await Occurrence.update({Occurrence.reminded_at: datetime.now(timezone.utc)}).where(
        Occurrence.id == series[2]["id"]
    )
    later = await post_form(
        claire_client,
        f"/events/{post_id}/edit",
        {**fields, "starts_at": f"{first_day}T18:30", "ends_at": f"{first_day}T21:00"},
    )
    assert later.status_code == 303

    moved_dates = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.starts_at)
    assert [o["starts_at"].astimezone(PARIS).strftime("%a %H:%M") for o in moved_dates] == ["Tue 18:30"] * 6
    assert all(o["ends_at"] - o["starts_at"] == timedelta(hours=2, minutes=30) for o in moved_dates)
    # Reminded again, of the new hour.
    assert all(o["reminded_at"] is None for o in moved_dates)
    # Everyone keeps their place, date by date.
    assert [o["going_count"] for o in moved_dates] == [0, 1, 1, 0, 1, 0]
    page = await paul_client.get(f"/posts/{post_id}")
    assert "18:30" in page.text and "18:00" not in page.text
    # Told once each, of the next date they come to.
    for person, date_index in ((paul, 2), (lea, 1)):
        told = [n for n in await notifications_of(person, "event") if "change" in n["text"]]
        assert len(told) == 1, told
        params = told[0]["params"]
        params = json.loads(params) if isinstance(params, str) else params
        assert datetime.fromisoformat(params["when"]) == moved_dates[date_index]["starts_at"]
        assert "à 18 h 30, Local de la rue Monge" in told[0]["text"]
    # Calendar apps get the new hour.
    [vevent] = Calendar.from_ical((await paul_client.get(f"/posts/{post_id}/event.ics")).content).walk("VEVENT")
    assert vevent.decoded("DTSTART") == moved_dates[0]["starts_at"]
