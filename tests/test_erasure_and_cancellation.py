"""What ends when it should: a deleted account's seats, loans, listings and
events; a cancelled event wherever it shows; a conversation read without
JavaScript."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from app.events import queries as events
from app.events.tables import Event, Signup
from app.posts.tables import Loan, Post
from tests.factories import make_user, notifications_of, post_form
from tests.factories_events import make_event
from tests.factories_posts import make_post, neighbours, signed_in

PARIS = ZoneInfo("Europe/Paris")


async def _told(user, text: str) -> list[str]:
    return [r["text"] for r in await notifications_of(user) if text in r["text"]]


async def _lend(lender_client, post_id: int, borrower) -> None:
    due = (datetime.now(PARIS).date() + timedelta(days=5)).isoformat()
    lent = await post_form(
        lender_client, f"/posts/{post_id}/status", {"status": "lent", "borrower": str(borrower.id), "due_on": due}
    )
    assert lent.status_code == 303


def _item(feed_html: str, title: str) -> str:
    """The feed entry of one annonce, as a reader scans it."""
    return next(li for li in feed_html.split('<li class="post') if f">{title}</a>" in li)


async def test_a_deleted_account_ends_its_loans_seats_listings_and_events(make_client):
    neighbourhood, (paul, yasmine, hugo) = await neighbours(3)
    odile = await make_user(neighbourhood, first_name="Odile", last_name="Rivière")
    odile_client = await signed_in(make_client, odile)
    paul_client = await signed_in(make_client, paul)
    hugo_client = await signed_in(make_client, hugo)

    # An open listing of Odile's.
    bike = await make_post(odile, title="Vélo à donner")
    # Odile borrows Paul's saw; Hugo borrows Odile's drill.
    saw = await make_post(paul, kind="lend", title="Scie sauteuse", details={"loan_days": 5})
    await post_form(odile_client, f"/posts/{saw}/replies", {"body": "Je peux l'emprunter ?"})
    await _lend(paul_client, saw, odile)
    drill = await make_post(odile, kind="lend", title="Perceuse", details={"loan_days": 5})
    await post_form(hugo_client, f"/posts/{drill}/replies", {"body": "Elle me servirait samedi."})
    await _lend(odile_client, drill, hugo)
    # Odile holds the last seat of Paul's workshop, Yasmine waits for it.
    workshop = await make_event(paul, title="Atelier vélo", capacity=1)
    await post_form(odile_client, f"/posts/{workshop}/signup")
    await post_form(await signed_in(make_client, yasmine), f"/posts/{workshop}/signup")
    # Odile organises a picnic Hugo is coming to.
    picnic = await make_event(odile, title="Pique-nique")
    await post_form(hugo_client, f"/posts/{picnic}/signup")
    # And she wrote to Paul, who has not read it yet.
    await post_form(odile_client, "/messages", {"to": str(paul.id), "body": "Je passe ce soir pour la scie."})
    assert "1 non lu" in (await paul_client.get("/messages")).text

    gone = await post_form(odile_client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303

    # The listing is closed and signed by a deleted account.
    page = await paul_client.get(f"/posts/{bike}")
    assert "Compte supprimé" in page.text and "Don · Close" in page.text
    entry = _item((await paul_client.get("/feed")).text, "Vélo à donner")
    assert "Compte supprimé" in entry and "Close" in entry
    # Both loans ended; Paul's saw can be lent again; each lender or borrower is told.
    assert await Loan.count().where(Loan.post.is_in([saw, drill]) & Loan.returned_at.is_null()) == 0
    statuses = {
        r["id"]: r["status"] for r in await Post.select(Post.id, Post.status).where(Post.id.is_in([saw, drill]))
    }
    assert statuses == {saw: "open", drill: "closed"}
    assert len(await _told(paul, "« Scie sauteuse » est terminé")) == 1
    assert len(await _told(hugo, "« Perceuse » est terminé")) == 1
    # Odile's seat went to Yasmine, who is told.
    event = await Event.select().where(Event.post == workshop).first()
    assert (event["going_count"], event["waitlist_count"]) == (1, 0)
    assert (
        await Signup.select(Signup.status).where((Signup.event == event["id"]) & (Signup.user == yasmine.id)).first()
    )["status"] == "going"
    assert len(await _told(yasmine, "Une place s'est libérée : vous participez à « Atelier vélo »")) == 1
    # Her picnic is cancelled, and Hugo knows.
    assert "Annulé" in (await hugo_client.get(f"/posts/{picnic}")).text
    assert len(await _told(hugo, "« Pique-nique » est annulé")) == 1
    # Her unread message went with her: Paul has nothing left to read.
    assert "non lu" not in (await paul_client.get("/messages")).text.split("<main", 1)[1]


async def test_a_cancelled_event_says_so_everywhere_and_is_not_reminded(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, title="Apéro du square", in_days=1.5)
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/signup")
    assert "Événement · À venir" in (await paul_client.get(f"/posts/{post_id}")).text
    claire_client = await signed_in(make_client, claire)
    assert (await post_form(claire_client, f"/events/{post_id}/cancel")).status_code == 303

    entry = _item((await paul_client.get("/feed")).text, "Apéro du square")
    assert "Annulé" in entry and "À venir" not in entry
    page = await paul_client.get(f"/posts/{post_id}")
    assert "Événement · Annulé" in page.text and "À venir" not in page.text
    listed = (await paul_client.get("/events")).text
    assert re.search(r"Apéro du square</a>\s*<strong>Annulé</strong>", listed)

    [one] = Calendar.from_ical((await paul_client.get(f"/posts/{post_id}/event.ics")).content).walk("VEVENT")
    assert one["STATUS"] == "CANCELLED" and str(one["SUMMARY"]) == "Annulé : Apéro du square"
    made = await post_form(paul_client, "/events/calendar")
    url = re.search(r'value="[^"]*(/events\.ics\?token=[^"]+)"', made.text).group(1)
    feed = Calendar.from_ical((await (await make_client()).get(url)).content)
    [mine] = [e for e in feed.walk("VEVENT") if "Apéro du square" in str(e["SUMMARY"])]
    assert mine["STATUS"] == "CANCELLED" and str(mine["SUMMARY"]).startswith("Annulé")

    event = await events.for_post(post_id)
    await events.send_event_reminders(event["starts_at"] - timedelta(days=1))
    assert await _told(paul, "Demain") == []


async def test_an_event_that_is_over_is_not_upcoming(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, title="Brocante passée", in_days=-2)
    page = await (await signed_in(make_client, paul)).get(f"/posts/{post_id}")
    assert "Événement · Terminé" in page.text and "À venir" not in page.text


async def test_a_conversation_opened_without_javascript_is_read(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    paul_client = await signed_in(make_client, paul)
    sent = await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "La poussette est encore là ?"})
    await post_form(paul_client, sent.headers["location"], {"body": "Je peux passer à 18 h."})
    claire_client = await signed_in(make_client, claire)
    assert "2 non lus" in (await claire_client.get("/messages")).text
    # A plain GET, as a browser with JavaScript off opens the link: no script, no button to press.
    page = await claire_client.get(sent.headers["location"])
    assert "Je peux passer à 18 h." in page.text
    assert "non lu" not in (await claire_client.get("/messages")).text.split("<main", 1)[1]
