"""A mail accepted by our server that bounces later: the report the receiving
side sends back to the VERP envelope sender, piped by the MTA to `voisinage bounce`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from app.accounts.tables import User
from app.notify.queries import notify
from app.notify.tables import MailDelivery
from app.settings import ROOT
from tests.factories_posts import neighbours, signed_in
from tests.mailbox import smtp_server
from tests.test_notification_mail import mail_round

NOTICE = "Votre messagerie a refusé nos e-mails"


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


@pytest.fixture(autouse=True)
async def empty_mail_outbox():
    await MailDelivery.delete(force=True)


def postfix_report(bounce_address: str, original: bytes, *, action: str, status: str, diagnostic: str) -> bytes:
    """A delivery status notification as Postfix's bounce daemon writes it (RFC 3464)."""
    headers = original.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").decode()
    return f"""Return-Path: <>
Delivered-To: {bounce_address}
From: MAILER-DAEMON@mx.laposte.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {bounce_address}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4C1A2B3D4E.1733094000/mx.laposte.example"
Message-Id: <20261201230000.4C1A2B3D4E@mx.laposte.example>

This is a MIME-encapsulated message.

--4C1A2B3D4E.1733094000/mx.laposte.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.laposte.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4C1A2B3D4E.1733094000/mx.laposte.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.laposte.example
X-Postfix-Queue-ID: 4C1A2B3D4E
X-Postfix-Sender: rfc822; {bounce_address}
Arrival-Date: Tue,  1 Dec 2026 23:00:00 +0100 (CET)

Final-Recipient: rfc822; claire@exemple.fr
Original-Recipient: rfc822;claire@exemple.fr
Action: {action}
Status: {status}
Remote-MTA: dns; mail.exemple.fr
Diagnostic-Code: smtp; {diagnostic}

--4C1A2B3D4E.1733094000/mx.laposte.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}

--4C1A2B3D4E.1733094000/mx.laposte.example--
""".replace("\n", "\r\n").encode()


UNKNOWN_USER = {"action": "failed", "status": "5.1.1", "diagnostic": "550 5.1.1 <claire@exemple.fr>: unknown user"}
MAILBOX_FULL_FOR_NOW = {"action": "delayed", "status": "4.2.2", "diagnostic": "452 4.2.2 mailbox full"}


async def pipe_to_voisinage_bounce(message: bytes, *args: str) -> subprocess.CompletedProcess:
    """What Postfix's pipe transport does: the message on stdin, ${recipient} as an argument."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "bounce", *args],
        cwd=ROOT,
        env=dict(os.environ),
        input=message,
        capture_output=True,
        timeout=90,
    )


async def _mailed(mailbox, claire, paul) -> tuple[str, bytes]:
    """A notification mail to Claire, through the SMTP server: its envelope sender and bytes."""
    await notify([claire.id], "message", url="/messages/3", params={"who": "Paul V."}, actor_id=paul.id)
    await mail_round(1)
    [mail] = mailbox.to(claire.email)
    return mailbox.envelope_sender(mail), mailbox.raw[mailbox.messages.index(mail)]


async def _stopped(person) -> bool:
    row = await User.select(User.mail_stopped_at).where(User.id == person.id).first()
    return row["mail_stopped_at"] is not None


async def test_a_mail_leaves_with_a_signed_envelope_sender_naming_its_account(mailbox):
    _n, (claire, paul) = await neighbours(2)
    sender, _raw = await _mailed(mailbox, claire, paul)
    assert re.fullmatch(rf"bounce\+{claire.id}\.[0-9a-f]{{32}}@voisinage\.localhost", sender)
    [mail] = mailbox.to(claire.email)
    assert "ne-pas-repondre@voisinage.localhost" in mail["From"]  # what the reader sees stays the same

    await notify([paul.id], "message", url="/messages/3", params={"who": "Claire"}, actor_id=claire.id)
    await mail_round(20)
    [to_paul] = mailbox.to(paul.email)
    assert mailbox.envelope_sender(to_paul).startswith(f"bounce+{paul.id}.")
    assert mailbox.envelope_sender(to_paul) != sender


async def test_a_bounce_for_an_unknown_mailbox_stops_mail_and_the_person_is_told(make_client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    sender, raw = await _mailed(mailbox, claire, paul)

    piped = await pipe_to_voisinage_bounce(postfix_report(sender, raw, **UNKNOWN_USER), "--recipient", sender)
    assert piped.returncode == 0, piped.stderr
    assert b"stopped" in piped.stderr and claire.email.encode() not in piped.stderr
    assert await _stopped(claire) and not await _stopped(paul)

    await notify([claire.id], "message", url="/messages/4", params={"who": "Paul V."}, actor_id=paul.id)
    assert await MailDelivery.count().where((MailDelivery.user == claire.id) & (MailDelivery.status == "pending")) == 0
    feed = await (await signed_in(make_client, claire)).get("/feed")
    assert NOTICE in feed.text


async def test_without_recipient_argument_the_address_is_read_from_the_report(mailbox):
    _n, (claire, paul) = await neighbours(2)
    sender, raw = await _mailed(mailbox, claire, paul)
    piped = await pipe_to_voisinage_bounce(postfix_report(sender, raw, **UNKNOWN_USER))
    assert piped.returncode == 0, piped.stderr
    assert await _stopped(claire)


async def test_a_delay_a_forged_token_or_a_plain_mail_stops_nothing(make_client, mailbox):
    _n, (claire, paul) = await neighbours(2)
    sender, raw = await _mailed(mailbox, claire, paul)

    delayed = await pipe_to_voisinage_bounce(postfix_report(sender, raw, **MAILBOX_FULL_FOR_NOW), "--recipient", sender)
    forged_address = re.sub(r"\.[0-9a-f]{32}@", "." + "0" * 32 + "@", sender)
    forged = await pipe_to_voisinage_bounce(
        postfix_report(forged_address, raw, **UNKNOWN_USER), "--recipient", forged_address
    )
    # Paul's token does not stop Claire's mail, nor his own (his address works).
    paul_address = sender.replace(f"+{claire.id}.", f"+{paul.id}.")
    someone_else = await pipe_to_voisinage_bounce(
        postfix_report(paul_address, raw, **UNKNOWN_USER), "--recipient", paul_address
    )
    vacation = f"From: claire@exemple.fr\r\nTo: {sender}\r\nSubject: Absente\r\n\r\nJe suis en vacances.\r\n".encode()
    plain = await pipe_to_voisinage_bounce(vacation, "--recipient", sender)
    garbage = await pipe_to_voisinage_bounce(b"\x00\xff" * 5000, "--recipient", "n'importe quoi")

    for piped in (delayed, forged, someone_else, plain, garbage):
        assert piped.returncode == 0, piped.stderr
        assert claire.email.encode() not in piped.stderr
    assert not await _stopped(claire) and not await _stopped(paul)
    feed = await (await signed_in(make_client, claire)).get("/feed")
    assert NOTICE not in feed.text


async def test_a_bounce_for_an_address_since_changed_stops_nothing(mailbox):
    _n, (claire, paul) = await neighbours(2)
    sender, raw = await _mailed(mailbox, claire, paul)
    await User.update({User.email: "claire.nouvelle@exemple.fr"}).where(User.id == claire.id)
    piped = await pipe_to_voisinage_bounce(postfix_report(sender, raw, **UNKNOWN_USER), "--recipient", sender)
    assert piped.returncode == 0, piped.stderr
    assert not await _stopped(claire)
