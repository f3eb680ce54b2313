"""Outgoing mail through a real SMTP client.

Without VOISINAGE_SMTP_URL (a fresh install, the demo) messages are written to
data/mail/ as .eml files, so the links in them can still be followed. With a
DKIM key configured every mail is signed (dkimpy) before it leaves.
Notification mails leave with a VERP envelope sender, bounce+<token>@domain:
a bounce that arrives later names (and proves) the account (app.notify.bounces).
"""

from __future__ import annotations

import logging
import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
import dkim

from app import metrics
from app.notify.preferences import signature
from app.settings import Settings, get_settings

log = logging.getLogger("voisinage.mail")

# What the signature covers: what a reader sees and what threads or unsubscribes.
SIGNED_HEADERS = [
    b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
    b"list-unsubscribe", b"list-unsubscribe-post", b"auto-submitted", b"mime-version", b"content-type",
]  # fmt: skip


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


def bounce_token(user_id: int, address: str) -> str:
    """Signed over the address too: a late bounce for an address the person has since changed stops nothing."""
    return f"{user_id}." + signature("bounce", f"{user_id}:{address.strip().lower()}")


def envelope_sender(user_id: int, address: str) -> str:
    local, _, domain = get_settings().bounce_address.rpartition("@")
    return f"{local}+{bounce_token(user_id, address)}@{domain}"


@lru_cache(maxsize=2)
def _dkim_key(path: Path) -> bytes:
    """Read once per process, not once per mail (a new key comes with a restart)."""
    return path.read_bytes()


def signed(msg: EmailMessage, settings: Settings) -> bytes:
    """The message's bytes, with a DKIM-Signature when a key is configured."""
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    if not settings.dkim_key_path:
        return data
    signature = dkim.sign(
        data,
        settings.dkim_selector.encode(),
        settings.dkim_domain.encode(),
        _dkim_key(settings.dkim_key_path),
        include_headers=[h for h in SIGNED_HEADERS if msg[h.decode()] is not None],
    )
    return signature + data


async def transmit(msg: EmailMessage, *, sender: str | None = None) -> None:
    """Sends or raises aiosmtplib's error (callers tell a refusal from an outage).

    `sender`: the envelope's (MAIL FROM, the Return-Path bounces go to), else the From address."""
    settings = get_settings()
    data = signed(msg, settings)
    if not settings.smtp_url:
        folder = settings.data_dir / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{secrets.token_hex(8)}.eml"
        path.write_bytes(data)
        log.info("mail written to %s (no VOISINAGE_SMTP_URL)", path)
        return
    url = urlsplit(settings.smtp_url)
    await aiosmtplib.send(
        data,
        sender=sender or parseaddr(settings.mail_from)[1],
        recipients=[parseaddr(msg["To"])[1]],
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        start_tls=True if url.scheme == "smtp+starttls" else None,
        timeout=10,
    )


def refusal_code(exc: Exception) -> int:
    """The SMTP reply code of a refusal (550…), 0 for anything else (outage, timeout)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return exc.recipients[0].code
    return getattr(exc, "code", 0) if isinstance(exc, aiosmtplib.SMTPResponseException) else 0


async def send_mail(to: str, subject: str, body: str, *, reply_to: str | None = None) -> None:
    """Never raises: a mail server outage must not turn a page into a 500.

    The sender reads no replies: a mail that expects one names a `reply_to`."""
    try:
        await transmit(build_message(to, subject, body, reply_to))
    except Exception as exc:
        metrics.MAIL_FAILURES.inc()
        # Neither the address nor the exception's text: an SMTP refusal quotes the recipient.
        log.error("mail not sent: %s %s", type(exc).__name__, getattr(exc, "code", ""))
