"""Outgoing mail through a real SMTP client.

Without VOISINAGE_SMTP_URL (a fresh install, the demo) messages are written to
data/mail/ as .eml files, so the links in them can still be followed.
"""

from __future__ import annotations

import logging
import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from app import metrics
from app.settings import get_settings

log = logging.getLogger("voisinage.mail")


def build_message(to: str, subject: str, body: str, reply_to: str | None = None) -> EmailMessage:
    settings = get_settings()
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.host)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


async def send_mail(to: str, subject: str, body: str, *, reply_to: str | None = None) -> None:
    """Never raises: a mail server outage must not turn a page into a 500.

    The sender reads no replies: a mail that expects one names a `reply_to`."""
    settings = get_settings()
    msg = build_message(to, subject, body, reply_to)
    if not settings.smtp_url:
        folder = settings.data_dir / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{secrets.token_hex(8)}.eml"
        path.write_bytes(bytes(msg))
        log.info("mail written to %s (no VOISINAGE_SMTP_URL)", path)
        return
    url = urlsplit(settings.smtp_url)
    try:
        await aiosmtplib.send(
            msg,
            hostname=url.hostname or "127.0.0.1",
            port=url.port or (465 if url.scheme == "smtps" else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=True if url.scheme == "smtp+starttls" else None,
            timeout=10,
        )
    except Exception as exc:
        metrics.MAIL_FAILURES.inc()
        # Neither the address nor the exception's text: an SMTP refusal quotes the recipient.
        log.error("mail not sent: %s %s", type(exc).__name__, getattr(exc, "code", ""))
