"""A neighbour without the app hears by email: notification mails gathered by
thread, their headers, preferences, one-click unsubscribe and refusals,
through a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.accounts.tables import User
from app.notify import mail_outbox, preferences
from app.notify.queries import notify
from app.notify.tables import MailDelivery
from app.settings import ROOT, get_settings
from tests.factories import make_user, post_form
from tests.factories_posts import make_post, neighbours, signed_in
from tests.mailbox import part, smtp_server


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture(autouse=True)
async def empty_mail_outbox():
    await MailDelivery.delete(force=True)


def later(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


async def mail_round(minutes: float) -> int:
    """The worker as it runs `minutes` from now."""
    return await mail_outbox.run_until_idle(now=later(minutes), backoff_base=0.01)


async def _reply(client, post_id: int, body: str):
    answer = await post_form(client, f"/posts/{post_id}/replies", {"body": body})
    assert answer.status_code == 303


async def test_a_reply_is_mailed_within_a_minute_and_the_next_ones_gathered_into_one_threaded_mail(
    make_client, mailbox
):
    _n, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    paul_client = await signed_in(make_client, paul)
    await _reply(paul_client, post_id, "Je peux la prendre samedi ?")

    assert await mail_round(0) == 0  # a second reply typed at once would still join it
    assert await mail_round(1) == 1
    [first] = mailbox.to(claire.email)
    assert first["Subject"] == "Nouvelle réponse à votre annonce"
    assert first.get_content_type() == "multipart/alternative"
    text, html = part(first, "plain"), part(first, "html")
    assert "Bonjour Claire," in text and "Paul V. a répondu à « Tondeuse à prêter »" in text
    assert (
        f"{get_settings().base_url}/posts/{post_id}" in text
        and f'href="{get_settings().base_url}/posts/{post_id}' in html
    )
    assert "une réponse par e-mail n'arrive à personne" in text and "<style" not in html
    assert first["Auto-Submitted"] == "auto-generated" and first["Reply-To"] is None
    assert first["Message-ID"].endswith(f"@{get_settings().host}>")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://[^>]+/mail/unsubscribe/[\w.]+>", first["List-Unsubscribe"])
    # As the mail client reads it: the URL itself on the header line, not encoded words.
    assert re.search(rb"\r\nList-Unsubscribe: <https?://[^>\s]+>\r\n", mailbox.raw[0])
    # Nobody's address in the body: not hers, not Paul's.
    assert claire.email not in text + html and paul.email not in text + html

    for body in ("Ou dimanche ?", "Je la rends lundi.", "Merci d'avance !"):
        await _reply(paul_client, post_id, body)
    assert await mail_round(2) == 0  # within the 15 minutes: gathered, not sent
    assert await mail_round(17) == 1
    [_first, second] = mailbox.to(claire.email)
    assert part(second, "plain").count("Paul V. a répondu") == 3
    assert second["Message-ID"] != first["Message-ID"]
    assert second["In-Reply-To"] == first["In-Reply-To"] == second["References"] == first["References"]
    assert await mail_round(60) == 0


async def test_push_only_means_no_mail_and_messages_still_come_by_default(make_client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Escabeau")
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get("/settings/notifications")
    assert '<option value="both" selected>' in page.text and '<option value="weekly" selected>' in page.text
    saved = await post_form(
        claire_client, "/settings/notifications", {"reply_to_post": "push", "message": "both", "digest": "daily"}
    )
    assert saved.status_code == 303
    assert (await preferences.user_preferences(claire.id))["reply_to_post"] == "push"

    paul_client = await signed_in(make_client, paul)
    await _reply(paul_client, post_id, "Je peux l'emprunter ?")
    sent = await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Et demain ?"})
    assert sent.status_code == 303
    assert await mail_round(1) == 1
    [mail] = mailbox.to(claire.email)
    assert mail["Subject"] == "Nouveau message" and "/messages/" in part(mail, "plain")


async def test_one_click_unsubscribe_without_a_session_stops_that_kind_of_mail(make_client, client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Vélo")
    paul_client = await signed_in(make_client, paul)
    await _reply(paul_client, post_id, "Toujours dispo ?")
    await mail_round(1)
    [mail] = mailbox.to(claire.email)
    url = mail["List-Unsubscribe"].strip("<>")
    path = url[len(get_settings().base_url) :]

    # A GET (a link scanner, a preview) changes nothing; it shows the button.
    shown = await client.get(path)
    assert shown.status_code == 200 and "Me désabonner" in shown.text
    assert (await preferences.user_preferences(claire.id))["reply_to_post"] == "both"

    forged = await client.post(path[:-3] + "abc", data={"List-Unsubscribe": "One-Click"})
    assert forged.status_code == 400
    assert (await preferences.user_preferences(claire.id))["reply_to_post"] == "both"

    # What a mail client sends (RFC 8058): no cookie, no CSRF token.
    done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "location" not in done.headers
    assert (await preferences.user_preferences(claire.id))["reply_to_post"] == "push"

    await _reply(paul_client, post_id, "Je passe ce soir.")
    assert await mail_round(30) == 0 and len(mailbox.to(claire.email)) == 1


async def test_a_refused_address_stops_mail_and_the_person_is_told(make_client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    mailbox.refuse(claire.email)
    post_id = await make_post(claire, title="Perceuse")
    paul_client = await signed_in(make_client, paul)
    await _reply(paul_client, post_id, "Elle est libre ?")
    assert await mail_round(1) == 0
    assert (await User.select(User.mail_stopped_at).where(User.id == claire.id).first())["mail_stopped_at"]

    await _reply(paul_client, post_id, "Je relance.")
    assert await MailDelivery.count().where(MailDelivery.status == "pending") == 0

    claire_client = await signed_in(make_client, claire)
    feed = await claire_client.get("/feed")
    assert "Votre messagerie a refusé nos e-mails" in feed.text
    resumed = await post_form(claire_client, "/settings/notifications/mail")
    assert resumed.status_code == 303
    assert "Votre messagerie a refusé" not in (await claire_client.get("/feed")).text
    await _reply(paul_client, post_id, "Et maintenant ?")
    assert await MailDelivery.count().where(MailDelivery.status == "pending") == 1


async def test_mail_speaks_the_recipients_language(make_client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    emma = await make_user(_n, first_name="Emma", last_name="Stone", locale="en")
    for person in (claire, emma):
        await notify([person.id], "message", url="/messages/1", params={"who": "Paul V."}, actor_id=paul.id)
    await mail_round(1)
    [french], [english] = mailbox.to(claire.email), mailbox.to(emma.email)
    assert french["Subject"] == "Nouveau message" and english["Subject"] == "New message"
    assert "Bonjour Claire," in part(french, "plain") and "Répondre sur Voisinage" in part(french, "html")
    assert "Hello Emma," in part(english, "plain") and "Reply on Voisinage" in part(english, "html")
    assert '<html lang="en">' in part(english, "html")


async def test_mail_is_dkim_signed_when_a_key_is_set(make_client, mailbox, tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "dkim.pem").write_bytes(pem)
    monkeypatch.setenv("VOISINAGE_DKIM_KEY_PATH", str(tmp_path / "dkim.pem"))
    monkeypatch.setenv("VOISINAGE_DKIM_DOMAIN", "voisinage.example")
    get_settings.cache_clear()
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name, timeout=5):
        return record if name == b"voisinage._domainkey.voisinage.example." else None

    try:
        _n, (claire, paul) = await neighbours(2)
        await notify([claire.id], "message", url="/messages/7", params={"who": "Paul V."}, actor_id=paul.id)
        await mail_round(1)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    [raw] = mailbox.raw
    assert raw.startswith(b"DKIM-Signature:") and b"d=voisinage.example" in raw
    assert dkim.verify(raw, dnsfunc=dns)
    assert not dkim.verify(raw.replace(b"Bonjour Claire", b"Bonjour Pirate"), dnsfunc=dns)


async def test_two_worker_processes_send_each_mail_exactly_once(mailbox):
    _n, (claire, paul) = await neighbours(2)
    for conversation in range(1, 25):
        await notify(
            [claire.id], "message", url=f"/messages/{conversation}", params={"who": "Paul V."}, actor_id=paul.id
        )
    # The minute has passed.
    await MailDelivery.update({MailDelivery.next_attempt_at: later(-1)}).where(MailDelivery.user == claire.id)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--once", "--batch", "3"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.to_thread(w.communicate, timeout=90) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    threads = [m["References"] for m in mailbox.to(claire.email)]
    assert len(threads) == len(set(threads)) == 24
    assert await MailDelivery.count().where((MailDelivery.user == claire.id) & (MailDelivery.status == "sent")) == 24


async def test_two_workers_in_one_process_send_each_mail_exactly_once(mailbox):
    _n, (claire, paul) = await neighbours(2)
    for conversation in range(1, 31):
        await notify(
            [claire.id], "message", url=f"/messages/{conversation}", params={"who": "Paul V."}, actor_id=paul.id
        )
    sent = await asyncio.gather(*(mail_outbox.run_until_idle(now=later(1), batch_size=4) for _ in range(2)))
    assert sum(sent) == 30 and all(sent)
    threads = [m["References"] for m in mailbox.to(claire.email)]
    assert len(threads) == len(set(threads)) == 30


async def test_replies_arriving_together_wait_in_one_mail(mailbox):
    _n, (claire, paul) = await neighbours(2)
    await asyncio.gather(
        *(
            notify(
                [claire.id],
                "reply_to_post",
                url="/posts/9#replies",
                params={"who": "Paul V.", "title": f"Réponse {i}"},
                actor_id=paul.id,
            )
            for i in range(6)
        )
    )
    assert await MailDelivery.count().where(MailDelivery.user == claire.id) == 1
    await mail_round(1)
    [mail] = mailbox.to(claire.email)
    assert all(f"Réponse {i}" in part(mail, "plain") for i in range(6))
