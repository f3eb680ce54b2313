"""Bounces that come back after our mail server accepted a mail.

The receiving side reports a failure later, as a delivery status notification
(RFC 3464: multipart/report with a message/delivery-status part) sent to the
envelope sender, bounce+<token>@domain (app.notify.mail.envelope_sender). The
MTA pipes it to `voisinage bounce --recipient bounce+<token>@domain`; a
verified token and a permanent failure (Action: failed, Status: 5.x.x) stop
mail to that account as a 5xx at sending does (stop_address()). Anything else
(a forged or stale token, a delay, a message that is no report) stops nothing
and is still accepted: refusing it would make the MTA bounce the bounce.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import hmac
import logging
from datetime import datetime, timezone
from email.message import Message
from email.utils import parseaddr

from app.accounts.tables import User
from app.notify.mail import bounce_token
from app.notify.mail_outbox import stop_address

log = logging.getLogger("voisinage.mail")

# A report is a few kilobytes and the returned mail ours: what lies beyond is not read.
MAX_BYTES = 1 << 20


def failure(report: Message) -> str:
    """ "permanent", "temporary" (delayed, 4.x.x) or "no report"."""
    if report.get_content_type() != "multipart/report":
        return "no report"
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            return "no report"
        for block in blocks:
            action = str(block.get("Action", "")).strip().lower()
            if action == "failed" and str(block.get("Status", "")).strip().startswith("5."):
                return "permanent"
        return "temporary"
    return "no report"


def _recipients(report: Message, recipient: str | None) -> list[str]:
    # Without --recipient, the bounce address as the MTA wrote it into the report's headers.
    if recipient:
        return [recipient]
    return [str(report.get(name, "")) for name in ("Delivered-To", "X-Original-To", "To")]


async def account_of(recipient: str) -> int | None:
    """The account a bounce address names, when this instance signed it for that account's address."""
    local = parseaddr(recipient)[1].rpartition("@")[0]
    token = local.partition("+")[2].lower()
    user = token.partition(".")[0]
    if not user.isdigit() or len(user) > 12:
        return None
    row = await User.select(User.email).where(User.id == int(user)).first()
    if row is None or not hmac.compare_digest(token.encode(), bounce_token(int(user), row["email"]).encode()):
        return None
    return int(user)


async def handle(raw: bytes, recipient: str | None = None) -> str:
    """Reads one bounce; returns what came of it ("stopped" or why not). Never raises on bad input."""
    report = email.message_from_bytes(raw[:MAX_BYTES], policy=email.policy.default)
    user_id = None
    try:
        for candidate in _recipients(report, recipient):
            if user_id := await account_of(candidate):
                break
        outcome = failure(report) if user_id is not None else "no signed bounce address"
    except (email.errors.MessageError, ValueError, TypeError, IndexError, LookupError, AttributeError):
        # Headers too broken for the parser, read lazily: the mail server must
        # not bounce the bounce, so this is an answer too (exit 0).
        user_id, outcome = None, "unreadable"
    if user_id is not None and outcome == "permanent":
        await stop_address(user_id, datetime.now(timezone.utc))
        outcome = "stopped"
    # The account's number, never an address.
    log.info("bounce: %s%s", outcome, f" (account {user_id})" if outcome == "stopped" else "")
    return outcome
