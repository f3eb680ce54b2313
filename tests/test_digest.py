"""The quartier's digest: what each neighbour reads in it, in their language,
nothing of another quartier, made once per period however many workers run."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from app.accounts.tables import User
from app.notify import digest, mail_outbox, preferences
from app.notify.tables import DigestRun, MailDelivery
from app.settings import get_settings
from tests.factories import make_user, post_form
from tests.factories_events import make_event
from tests.factories_posts import make_post, neighbours, signed_in
from tests.mailbox import part, smtp_server


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture(autouse=True)
async def fresh_digests():
    await MailDelivery.delete(force=True)
    await DigestRun.delete(force=True)


async def _send_all() -> None:
    await mail_outbox.run_until_idle(now=datetime.now(timezone.utc) + timedelta(minutes=1))


async def _quartiers():
    """Two quartiers: Claire (a handywoman) and Emma (who reads English) in one, Bruno in the other."""
    first, (claire, hugo) = await neighbours(2)
    emma = await make_user(first, first_name="Emma", last_name="Stone", locale="en")
    await User.update({User.skills: ["bricolage"]}).where(User.id == claire.id)
    await make_post(hugo, kind="give", title="Canapé à donner")
    await make_post(hugo, kind="lend", title="Perceuse à prêter")
    await make_post(hugo, kind="help_request", title="Monter une étagère", details={"skill": "bricolage"})
    await make_post(hugo, kind="help_request", title="Installer une imprimante", details={"skill": "informatique"})
    await make_event(hugo, title="Fête des voisins", in_days=2)
    second, (bruno,) = await neighbours(1)
    await make_post(bruno, kind="give", title="Vélo d'enfant")
    await make_event(bruno, title="Vide-grenier", in_days=3)
    return first, claire, hugo, emma, bruno


async def test_each_neighbour_reads_their_own_quartier_in_their_language(mailbox, make_client):
    first, claire, hugo, emma, bruno = await _quartiers()
    karim = await make_user(first, first_name="Karim", last_name="Benali")
    await make_post(karim, kind="give", title="Tabouret en bois")
    claire_client = await signed_in(make_client, claire)
    assert (await post_form(claire_client, f"/users/{karim.id}/block")).status_code == 303
    assert await digest.run() >= 4
    await _send_all()

    [mail] = mailbox.to(claire.email)
    text, html = part(mail, "plain"), part(mail, "html")
    assert mail["Subject"].startswith("Cette semaine à Quartier")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for shown in ("Canapé à donner", "Perceuse à prêter", "Fête des voisins", "Monter une étagère", "Emma S."):
        assert shown in text and shown in html
    assert text.index("Dons") < text.index("Canapé") < text.index("Prêts") < text.index("Perceuse")
    # Not her skill; not her quartier; not her own name; nothing of whom she blocked.
    for hidden in ("Installer une imprimante", "Vélo d'enfant", "Vide-grenier", "Claire V.", "Tabouret", "Karim"):
        assert hidden not in text and hidden not in html
    assert claire.email not in text + html and hugo.email not in text + html

    # Claire's blocks are hers: Hugo, who reads French too, still sees Karim's listing.
    [hugos] = mailbox.to(hugo.email)
    assert "Tabouret en bois" in part(hugos, "plain") and "Tabouret en bois" in part(hugos, "html")

    [english] = mailbox.to(emma.email)
    assert english["Subject"].startswith("This week in Quartier")
    assert "Upcoming events" in part(english, "plain") and "Fête des voisins" in part(english, "html")
    assert "Monter une étagère" not in part(english, "plain")  # Emma offers no DIY
    assert "Tabouret en bois" in part(english, "plain") and "Karim B." in part(english, "html")

    [other] = mailbox.to(bruno.email)
    assert "Vélo d'enfant" in part(other, "plain") and "Vide-grenier" in part(other, "plain")
    assert "Canapé" not in part(other, "plain") and "Fête des voisins" not in part(other, "html")


async def test_made_once_per_period_with_two_workers_and_as_each_person_chose(mailbox, client):
    _first, claire, hugo, emma, bruno = await _quartiers()
    await preferences.save_preferences(emma.id, {"digest": "daily"})
    await preferences.save_preferences(bruno.id, {"digest": "off"})
    queued = await asyncio.gather(digest.run(), digest.run())
    again = await digest.run()
    mine = {claire.id, hugo.id, emma.id, bruno.id}
    rows = await MailDelivery.select(MailDelivery.user, MailDelivery.subject).where(MailDelivery.user.is_in(list(mine)))
    assert sorted(r["user"] for r in rows) == sorted([claire.id, hugo.id, emma.id])
    assert sum(queued) >= 3 and again == 0
    assert next(r["subject"] for r in rows if r["user"] == emma.id).startswith("Today in")

    # One click in the mail ends the digest.
    await _send_all()
    [mail] = mailbox.to(claire.email)
    path = mail["List-Unsubscribe"].strip("<>")[len(get_settings().base_url) :]
    assert path.endswith(".digest." + path.rsplit(".", 1)[1])
    from httpx import ASGITransport, AsyncClient

    from app.main import create_app

    async with AsyncClient(
        transport=ASGITransport(app=create_app(own_database=False)), base_url="http://testserver.local"
    ) as c:
        assert (await c.post(path, data={"List-Unsubscribe": "One-Click"})).status_code == 200
    assert (await preferences.user_preferences(claire.id))["digest"] == "off"


def test_periods_begin_at_seven_in_paris():
    monday_evening = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
    assert digest.period("weekly", monday_evening)[0] == "weekly:2026-W49"
    assert digest.period("daily", monday_evening) == (
        "daily:2026-11-30",
        datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc),
    )
    monday_dawn = datetime(2026, 11, 30, 5, 0, tzinfo=timezone.utc)  # 6:00 in Paris: still last week's
    assert digest.period("weekly", monday_dawn)[0] == "weekly:2026-W48"
    assert digest.period("daily", monday_dawn)[0] == "daily:2026-11-29"
