"""A notification reads in its reader's language, whoever caused it: on the
notifications page and on the phone, through the real decrypting push receiver."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.notify.tables import PushDelivery, PushSubscription
from app.notify.text import describe
from tests.factories import make_neighbourhood, make_user, post_form
from tests.factories_events import local, make_event
from tests.factories_posts import signed_in
from tests.factories_push import subscribe, worker_round
from tests.push_receiver import PushReceiver
from tests.test_hosts_share_photos_and_keys import _voisinage, empty_database  # noqa: F401 (a fixture)

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
async def empty_outbox():
    await PushDelivery.delete(force=True)
    await PushSubscription.delete(force=True)


def _next_saturday_at_half_past_two() -> datetime:
    day = datetime.now(PARIS).date() + timedelta(days=7)
    day += timedelta(days=(5 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 14, 30, tzinfo=PARIS)


async def test_a_moved_event_reads_in_french_for_one_neighbour_and_in_english_for_another(make_client, receiver):
    neighbourhood = await make_neighbourhood()
    # The organiser writes in French; Paul reads French, Emma English.
    claire = await make_user(neighbourhood, first_name="Claire", locale="fr")
    paul = await make_user(neighbourhood, first_name="Paul", locale="fr")
    emma = await make_user(neighbourhood, first_name="Emma", locale="en")
    post_id = await make_event(claire, title="Repas de quartier")
    clients = {}
    for person in (paul, emma):
        clients[person.first_name] = client = await signed_in(make_client, person)
        assert (await post_form(client, f"/posts/{post_id}/signup")).status_code == 303
        answer = await subscribe(client, receiver.subscription(f"{person.first_name}-phone"))
        assert answer.status_code == 201, answer.text

    start = _next_saturday_at_half_past_two()
    organiser = await signed_in(make_client, claire)
    moved = await post_form(
        organiser,
        f"/events/{post_id}/edit",
        {
            "title": "Repas de quartier",
            "body": "Chacun apporte un plat.",
            "place": "Jardin partagé",
            "starts_at": local(start),
            "ends_at": local(start + timedelta(hours=3)),
            "capacity": "",
        },
    )
    assert moved.status_code == 303

    day = start.day
    month_fr = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"][start.month - 1]  # fmt: skip
    first_fr = "1er" if day == 1 else str(day)
    french = f"« Repas de quartier » change : samedi {first_fr} {month_fr} à 14 h 30, Jardin partagé"
    english = f"“Repas de quartier” has changed: Saturday {day} {start.strftime('%B')}, 14:30, Jardin partagé"

    assert french in (await clients["Paul"].get("/notifications")).text
    emma_page = (await clients["Emma"].get("/notifications")).text
    assert english in emma_page and "» change :" not in emma_page

    assert await worker_round() == 2
    pushed = {r.path: r.message for r in receiver.received}
    assert len(pushed) == 2
    paul_push, emma_push = (next(m for p, m in pushed.items() if name in p) for name in ("Paul", "Emma"))
    assert (paul_push["title"], paul_push["body"]) == ("Un événement a changé", french)
    assert emma_push["title"] == "An event has changed" and emma_push["body"] == english


async def _badge(client) -> str:
    """The badge as a screen reader says it."""
    return re.sub(r"<[^>]+>", "", (await client.get("/notifications/badge")).text).strip()


async def test_the_unread_count_is_said_with_its_plural(make_client):
    neighbourhood = await make_neighbourhood()
    claire = await make_user(neighbourhood, first_name="Claire")
    emma = await make_user(neighbourhood, first_name="Emma", locale="en")
    from app.notify.queries import notify

    client, emma_client = await signed_in(make_client, claire), await signed_in(make_client, emma)
    await notify([claire.id, emma.id], "moderation", url="/feed", params={"what": "verified"})
    assert await _badge(client) == "Notifications 1 non lue"
    assert "Votre compte est maintenant vérifié." in (await client.get("/notifications")).text
    assert "Your account is now verified." in (await emma_client.get("/notifications")).text
    await notify([claire.id], "moderation", url="/feed", params={"what": "verified"})
    assert await _badge(client) == "Notifications 2 non lues"


async def test_an_upgrade_keeps_the_notifications_written_before_as_they_read(empty_database, tmp_path):  # noqa: F811
    from tests.test_hosts_share_photos_and_keys import _at_migration_0010

    old = tmp_path / "data"
    sentence = "Paul V. a répondu à « Tondeuse à prêter »"
    _at_migration_0010(
        old,
        empty_database,
        [
            "INSERT INTO account (email, first_name, last_name, password_hash, created_at) "
            "VALUES ('claire@exemple.fr', 'Claire', 'Martin', 'x', '2026-01-01')",
            'INSERT INTO notification ("user", kind, url, text, created_at) '
            f"VALUES (1, 'reply_to_post', '/posts/1#replies', '{sentence.replace(chr(39), chr(39) * 2)}', '2026-01-01')",
        ],
    )
    upgraded = _voisinage(old, empty_database, "migrate")
    assert upgraded.returncode == 0, upgraded.stderr

    from tests.test_hosts_share_photos_and_keys import _rows

    [(kind, params)] = await _rows(empty_database, "SELECT kind, params FROM notification")
    # Written in French before, it stays what it said, for every reader.
    assert kind == "reply_to_post"
    assert describe(kind, params, "fr") == sentence and describe(kind, params, "en") == sentence
    columns = await _rows(
        empty_database,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'notification'"
        if empty_database.startswith("postgresql")
        else "SELECT name FROM pragma_table_info('notification')",
    )
    assert ("text",) not in columns and ("params",) in columns
