"""Urgent alerts: a moderator publishes, a member proposes and a moderator
approves or refuses; every member of the quartier hears at once by push and
by email whatever they chose for the other kinds, unless they turned alerts
off; three a day at most; the banner on the feed until the alert ends."""

from __future__ import annotations

import asyncio
import html
import json
from datetime import datetime, timedelta, timezone

import pytest

from app.accounts.tables import User
from app.alerts import queries as alerts
from app.alerts.tables import Alert, AlertDay
from app.moderation.tables import ModerationAction
from app.notify import mail_outbox, preferences
from app.notify.tables import MailDelivery, PushDelivery, PushSubscription
from app.privacy.queries import erase_account, export_archive
from tests.factories import field_error, make_moderator, notifications_of, post_form
from tests.factories_posts import neighbours, signed_in
from tests.factories_push import subscribe, work_until_settled
from tests.mailbox import part, smtp_server
from tests.push_receiver import PushReceiver

ALL_OFF = {kind: "none" for kind in preferences.PREFERENCES} | {"digest": "off"}


@pytest.fixture(autouse=True)
async def empty_outboxes():
    await PushDelivery.delete(force=True)
    await PushSubscription.delete(force=True)
    await MailDelivery.delete(force=True)


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.stall.clear()
    r.stop()


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


async def _deliver_everything() -> None:
    await work_until_settled()
    await mail_outbox.run_until_idle(backoff_base=0.01)


def _read(response) -> str:
    """The page as its reader sees the words (apostrophes unescaped)."""
    return html.unescape(response.text)


def _pushed_to(receiver, device: str) -> list[dict]:
    return [r.message for r in receiver.received if r.path == f"/push/{device}" and r.message]


ALERT = {
    "category": "child",
    "title": "Léo, 6 ans, perdu au parc",
    "body": "T-shirt rouge, vu vers 17 h près des jeux.",
}


async def test_a_moderator_alert_reaches_every_neighbour_by_push_and_mail_except_who_turned_alerts_off(
    make_client, receiver, mailbox
):
    """Claire turned every notification off, Paul kept the defaults, Hugo
    turned urgent alerts off. The moderator publishes « enfant perdu »."""
    neighbourhood, (claire, paul, hugo) = await neighbours(3)
    moderator = await make_moderator(neighbourhood)
    await preferences.save_preferences(claire.id, ALL_OFF)
    await preferences.save_preferences(hugo.id, {"alert": "off"})
    for person in (claire, paul, hugo):
        client = await signed_in(make_client, person)
        assert (await subscribe(client, receiver.subscription(person.first_name))).status_code == 201

    mod_client = await signed_in(make_client, moderator)
    done = await post_form(mod_client, "/alerts", ALERT)
    assert done.status_code == 303
    alert_id = int(done.headers["location"].split("?")[0].rsplit("/", 1)[1])
    await _deliver_everything()

    for person in (claire, paul):
        [pushed] = _pushed_to(receiver, person.first_name)
        assert pushed["title"] == "Alerte urgente dans votre quartier"
        assert pushed["body"] == "Alerte, enfant perdu : Léo, 6 ans, perdu au parc"
        assert pushed["url"] == f"/alerts/{alert_id}"
        [mail] = mailbox.to(person.email)
        assert mail["Subject"] == "Alerte urgente dans votre quartier"
        assert "Alerte, enfant perdu : Léo, 6 ans, perdu au parc" in part(mail, "plain")
    assert _pushed_to(receiver, "Hugo") == [] and mailbox.to(hugo.email) == []
    assert mailbox.to(moderator.email) == []

    # Nothing goes twice: another round of both workers sends nothing.
    await _deliver_everything()
    assert len(receiver.messages()) == 2 and len(mailbox.messages) == 2
    # Published means on the feed, with its page; and written in the log.
    feed = await (await signed_in(make_client, claire)).get("/feed")
    assert 'aria-labelledby="h-urgent"' in feed.text and "Léo, 6 ans, perdu au parc" in feed.text
    assert 'role="alert"' not in feed.text.split('id="h-urgent"')[0].rsplit("<section", 1)[1]
    page = await (await signed_in(make_client, paul)).get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "T-shirt rouge" in page.text
    assert await ModerationAction.exists().where(
        (ModerationAction.action == "alert_publish") & (ModerationAction.target_id == alert_id)
    )


async def test_the_alerts_line_of_the_settings_page_turns_them_off_and_on(make_client):
    _n, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    page = await client.get("/settings/notifications")
    assert 'name="alert"' in page.text and '<option value="on" selected>' in page.text
    saved = await post_form(client, "/settings/notifications", {"alert": "off", "message": "none"})
    assert saved.status_code == 303
    prefs = (await User.select(User.notification_prefs).where(User.id == claire.id).first())["notification_prefs"]
    assert not preferences.wants_push(prefs, "alert") and not preferences.wants_mail(prefs, "alert")
    # Every other kind off, alerts on: alerts still come both ways.
    assert preferences.channel(ALL_OFF, "alert") == "both" and preferences.channel(ALL_OFF, "message") == "none"


async def test_a_member_proposes_a_moderator_approves_and_the_quartier_hears(make_client, mailbox):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    claire_client = await signed_in(make_client, claire)
    form = await claire_client.get("/alerts/new")
    assert "Proposer une alerte urgente" in form.text
    proposed = await post_form(
        claire_client, "/alerts", {"category": "water", "title": "Plus d'eau rue des Lilas", "body": "Fuite."}
    )
    assert proposed.status_code == 303 and "notice=alert_proposed" in proposed.headers["location"]
    alert_id = int(proposed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    await mail_outbox.run_until_idle(backoff_base=0.01)
    assert mailbox.messages == []  # nothing leaves before a moderator says so
    assert "Plus d'eau" not in _read(await (await signed_in(make_client, paul)).get("/feed"))
    assert (await (await signed_in(make_client, paul)).get(f"/alerts/{alert_id}")).status_code == 404

    mod_client = await signed_in(make_client, moderator)
    queue = await mod_client.get("/moderation/alerts")
    assert "Plus d'eau rue des Lilas" in _read(queue) and f"/alerts/{alert_id}/approve" in queue.text
    approved = await post_form(mod_client, f"/alerts/{alert_id}/approve")
    assert approved.status_code == 303
    # A second click (or a second moderator) publishes nothing more.
    again = await post_form(mod_client, f"/alerts/{alert_id}/approve")
    assert again.status_code == 303
    await mail_outbox.run_until_idle(backoff_base=0.01)
    assert {m["To"] for m in mailbox.messages} == {claire.email, paul.email}
    alert = await alerts.by_id(alert_id)
    # A water cut shows for 24 hours by default.
    assert alert["status"] == "published"
    shown_for = alerts._aware(alert["expires_at"]) - alerts._aware(alert["published_at"])
    assert shown_for == timedelta(hours=24)
    assert "Plus d'eau rue des Lilas" in _read(await (await signed_in(make_client, paul)).get("/feed"))
    logged = await ModerationAction.select(ModerationAction.action).where(
        (ModerationAction.target_type == "alert") & (ModerationAction.target_id == alert_id)
    )
    assert [row["action"] for row in logged] == ["alert_approve"]


async def test_a_refusal_needs_a_reason_shown_to_its_author(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    claire_client = await signed_in(make_client, claire)
    proposed = await post_form(claire_client, "/alerts", {"category": "pet", "title": "Chat", "body": "Roux"})
    alert_id = int(proposed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    mod_client = await signed_in(make_client, moderator)
    empty = await post_form(mod_client, f"/alerts/{alert_id}/refuse", {"reason": " "})
    assert empty.status_code == 422 and field_error(empty.text, f"reason-{alert_id}") == "Ce champ est obligatoire."
    refused = await post_form(
        mod_client,
        f"/alerts/{alert_id}/refuse",
        {"reason": "Mettez plutôt une annonce"},
        headers={"HX-Request": "true"},
    )
    assert (
        refused.status_code == 200
        and refused.text.startswith(f'<li id="alert-{alert_id}"')
        and "Refusée" in refused.text
    )
    page = await claire_client.get(f"/alerts/{alert_id}")
    assert "Refusée par la modération : Mettez plutôt une annonce" in _read(page)
    [told] = await notifications_of(claire, "moderation")
    assert told["text"] == "Votre alerte « Chat » n'a pas été publiée : Mettez plutôt une annonce"
    assert told["url"] == f"/alerts/{alert_id}"
    assert await ModerationAction.exists().where(
        (ModerationAction.action == "alert_refuse") & (ModerationAction.target_id == alert_id)
    )


async def test_bad_input_is_told_next_to_its_field_and_kept(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    answer = await post_form(client, "/alerts", {"category": "volcan", "title": "x" * 81, "body": "", "hours": "500"})
    assert answer.status_code == 422
    assert field_error(answer.text, "category") == "Choisissez une des options proposées."
    assert field_error(answer.text, "title").startswith("80 caractères au plus")
    assert field_error(answer.text, "body") == "Ce champ est obligatoire."
    assert field_error(answer.text, "hours") == "Choisissez une des options proposées."
    assert 'value="' + "x" * 81 + '"' in answer.text
    assert await Alert.count().where(Alert.neighbourhood == neighbourhood.id) == 0


async def test_the_fourth_alert_of_the_day_is_refused_with_a_clear_message(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    client = await signed_in(make_client, moderator)
    for n in range(3):
        done = await post_form(client, "/alerts", {**ALERT, "title": f"Alerte {n}"})
        assert done.status_code == 303
    fourth = await post_form(client, "/alerts", {**ALERT, "title": "Alerte de trop"})
    assert fourth.status_code == 422
    assert "Le quartier a déjà publié 3 alertes aujourd'hui : c'est le maximum." in _read(fourth)
    assert 'value="Alerte de trop"' in fourth.text
    # A proposal waits: approving it today is refused too, and it stays in the queue.
    proposed = await post_form(await signed_in(make_client, claire), "/alerts", {**ALERT, "title": "Proposée"})
    alert_id = int(proposed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    refused = await post_form(client, f"/alerts/{alert_id}/approve")
    assert refused.status_code == 422 and "c'est le maximum" in _read(refused)
    assert (await alerts.by_id(alert_id))["status"] == "proposed"
    assert await Alert.count().where((Alert.neighbourhood == neighbourhood.id) & (Alert.status == "published")) == 3


async def test_two_moderators_publishing_the_third_and_fourth_at_once_get_one_each(database):
    """Exact under concurrency on both engines: the count is one upsert."""
    neighbourhood, _people = await neighbours(1)
    first, second = await make_moderator(neighbourhood), await make_moderator(neighbourhood, first_name="Sam")
    for n in range(2):
        await alerts.create(first, neighbourhood.id, category="fire", title=f"Feu {n}", body="…", hours=6, publish=True)

    async def publish(moderator, title):
        try:
            return await alerts.create(
                moderator, neighbourhood.id, category="fire", title=title, body="…", hours=6, publish=True
            )
        except alerts.DailyLimitReached:
            return None

    results = await asyncio.gather(*(publish(m, f"En même temps {i}") for i, m in enumerate((first, second) * 3)))
    assert sum(r is not None for r in results) == 1
    assert await Alert.count().where(Alert.neighbourhood == neighbourhood.id) == 3
    day = await AlertDay.select(AlertDay.published).where(AlertDay.neighbourhood == neighbourhood.id).first()
    assert day["published"] == 3


async def test_an_alert_leaves_the_feed_when_it_expires_or_a_moderator_ends_it(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    mod_client = await signed_in(make_client, moderator)
    claire_client = await signed_in(make_client, claire)
    done = await post_form(mod_client, "/alerts", {**ALERT, "hours": "1"})
    alert_id = int(done.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert "h-urgent" in (await claire_client.get("/feed")).text
    # An hour later, in a moment: the expiry moved back, and the few seconds
    # for which this process keeps the banner (app.db.recent) passed.
    await Alert.update({Alert.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        Alert.id == alert_id
    )
    alerts.forget_showing(neighbourhood.id)
    assert "h-urgent" not in (await claire_client.get("/feed")).text
    assert "Terminée le" in (await claire_client.get(f"/alerts/{alert_id}")).text

    second = await post_form(mod_client, "/alerts", {**ALERT, "title": "Fumée rue Haute", "category": "fire"})
    second_id = int(second.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert "Fumée rue Haute" in (await claire_client.get("/feed")).text
    ended = await post_form(mod_client, f"/alerts/{second_id}/end")
    assert ended.status_code == 303
    assert "Fumée rue Haute" not in (await claire_client.get("/feed")).text
    assert await ModerationAction.exists().where(
        (ModerationAction.action == "alert_end") & (ModerationAction.target_id == second_id)
    )


async def test_export_holds_my_alerts_and_erasure_anonymises_them(make_client):
    import io
    import zipfile

    neighbourhood, (claire,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    client = await signed_in(make_client, claire)
    for title in ("Chat de Claire Voisin0 perdu", "Encore en attente"):
        await post_form(client, "/alerts", {"category": "pet", "title": title, "body": "Appelez Claire Voisin0"})
    published, waiting = [
        r["id"] for r in await Alert.select(Alert.id).where(Alert.author == claire.id).order_by(Alert.id)
    ]
    await alerts.approve(moderator, await alerts.by_id(published))

    archive = zipfile.ZipFile(io.BytesIO(await export_archive(claire.id)))
    exported = json.loads(archive.read("voisinage.json"))["alerts"]
    assert [a["title"] for a in exported] == ["Chat de Claire Voisin0 perdu", "Encore en attente"]

    await erase_account(claire.id)
    kept = await alerts.by_id(published)
    assert kept["author"] is None and kept["title"] == "Chat de [effacé] perdu" and "Voisin0" not in kept["body"]
    assert await alerts.by_id(waiting) is None


async def test_a_moderator_of_another_quartier_and_members_cannot_decide(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    elsewhere, _people = await neighbours(1)
    other_moderator = await make_moderator(elsewhere)
    proposed = await post_form(await signed_in(make_client, claire), "/alerts", {**ALERT})
    alert_id = int(proposed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    for who in (paul, claire, other_moderator):
        client = await signed_in(make_client, who)
        assert (await post_form(client, f"/alerts/{alert_id}/approve")).status_code == 404
    queue = await (await signed_in(make_client, other_moderator)).get("/moderation/alerts")
    assert queue.status_code == 200 and ALERT["title"] not in queue.text
    assert (await alerts.by_id(alert_id))["status"] == "proposed"


async def test_a_neighbour_reports_an_alert_and_the_moderators_see_it_in_their_queue(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    alert_id = await alerts.create(
        claire, neighbourhood.id, category="other", title="Réunion secrète", body="Venez tous", hours=6, publish=False
    )
    await alerts.approve(moderator, await alerts.by_id(alert_id))
    paul_client = await signed_in(make_client, paul)
    page = await paul_client.get(f"/alerts/{alert_id}")
    assert f'href="/alerts/{alert_id}/report"' in page.text
    empty = await post_form(paul_client, f"/alerts/{alert_id}/report", {"reason": "other", "text": ""})
    assert empty.status_code == 422 and field_error(empty.text, "text") == "Ce champ est obligatoire."
    sent = await post_form(paul_client, f"/alerts/{alert_id}/report", {"reason": "off_topic", "text": ""})
    assert sent.status_code == 303 and sent.headers["location"] == f"/alerts/{alert_id}?notice=reported"
    queue = await (await signed_in(make_client, moderator)).get("/moderation")
    assert "Réunion secrète" in queue.text and f'href="/alerts/{alert_id}"' in queue.text


async def test_the_one_click_unsubscribe_of_an_alert_mail_turns_alerts_off(client):
    _n, (claire,) = await neighbours(1)
    token = preferences.unsubscribe_token(claire.id, "alert")
    page = await client.get(f"/mail/unsubscribe/{token}")
    assert page.status_code == 200 and "Alertes urgentes du quartier" in page.text
    done = await client.post(f"/mail/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    prefs = (await User.select(User.notification_prefs).where(User.id == claire.id).first())["notification_prefs"]
    assert preferences.channel(prefs, "alert") == "none"
