"""The mail outbox: notification mails gathered by thread, and digests.

notify() adds a line to the mail waiting for that person and page (a post, a
conversation), or queues a new one: the first mail about a page leaves within
a minute, what follows in the next 15 minutes waits for ONE further mail that
lists everything new since the last. The worker claims due rows with a lease
as the push outbox does (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
writer on SQLite), so several workers send each mail once. A permanent refusal
(5xx) stops mail to that address until the person sets it again; so does a
bounce that comes back later (app.notify.bounces), through stop_address().
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from functools import cache

from app import i18n, metrics
from app.access import suspension
from app.accounts.tables import User
from app.background import periodic
from app.notify.mail import envelope_sender, refusal_code, transmit
from app.notify.outbox import MAX_ATTEMPTS, TITLES, backoff
from app.notify.preferences import digest, unsubscribe_url, wants_mail
from app.notify.queries import INSERT_CHUNK, on_notified
from app.notify.tables import MailDelivery, Notification
from app.notify.text import describe
from app.settings import Settings, get_settings
from app.templating import make_environment

log = logging.getLogger("voisinage.mail")

# Folding a long header without spaces would turn it into encoded words, which
# mail clients do not read as a List-Unsubscribe URL: RFC 5322 allows 998 characters.
ONE_LINE_HEADERS = email.policy.SMTP.clone(max_line_length=998)
FIRST_DELAY = timedelta(seconds=30)  # a second reply typed at once joins the first mail
WINDOW = timedelta(minutes=15)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive UTC.
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def thread_of(url: str) -> str:
    return url.partition("#")[0].partition("?")[0][:300]


def mail_line(item: dict) -> dict:
    """The one place a notification becomes a line of a mail, worded by
    `describe()` in the language the mail is written in (its reader's).
    A line queued before notifications had parameters carries its text."""
    params = item["params"] if "params" in item else {"text": item.get("text", "")}
    return {
        "text": describe(item["kind"], params, i18n.current_locale.get()),
        "url": f"{get_settings().base_url}{item['url']}",
    }


@on_notified
async def enqueue(notifications: list[Notification]) -> None:
    """Called by notify(): a line for the waiting mail of each person who wants this kind by email."""
    by_user = {n.user: n for n in notifications}
    people = await User.select(User.id, User.notification_prefs, User.suspended_until, User.mail_stopped_at).where(
        User.id.is_in(list(by_user))
    )
    now = _now()
    wanting = [
        person["id"]
        for person in people
        if wants_mail(person["notification_prefs"], by_user[person["id"]].kind)
        and not suspension(person)
        and not person["mail_stopped_at"]
    ]
    if notifications and notifications[0].kind == "alert":
        await _add_alert([by_user[u] for u in wanting], now)
        return
    for user_id in wanting:
        await _add(user_id, by_user[user_id], now)


async def _add_alert(notes: list[Notification], now: datetime) -> None:
    """An urgent alert is its own page, new to everyone, and says the same to
    all: the quartier's mails are one INSERT … SELECT per chunk, leaving at
    once (a row built and a statement run per person kept the moderator
    waiting seconds). mail_waiting_idx: a mail of this page already waiting
    is not doubled."""
    if not notes:
        return
    first = notes[0]
    ids = [note.user for note in notes]
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        await MailDelivery.raw(
            'INSERT INTO mail_delivery ("user", kind, thread, items, subject, text_body, html_body, status, '
            "attempts, next_attempt_at, last_error, created_at) "
            "SELECT id, {}, {}, {}, '', '', '', 'pending', 0, {}, '', {} FROM account "
            f"WHERE id IN ({', '.join('{}' for _ in chunk)}) ON CONFLICT DO NOTHING",
            first.kind,
            thread_of(first.url),
            _item(first),
            now,
            now,
            *chunk,
        )


def _item(note: Notification) -> str:
    params = json.loads(note.params) if isinstance(note.params, str) else note.params
    return json.dumps({"kind": note.kind, "url": note.url, "params": params, "actor": note.actor}) + "\n"


async def _add(user_id: int, note: Notification, now: datetime) -> None:
    item = _item(note)
    thread = thread_of(note.url)
    mine = (MailDelivery.user == user_id) & (MailDelivery.thread == thread)
    for _attempt in range(3):
        # One statement: a worker's claim (attempts + 1) and this append never both win.
        appended = (
            await MailDelivery.update({MailDelivery.items: MailDelivery.items + item})
            .where(mine & (MailDelivery.status == "pending") & (MailDelivery.attempts == 0))
            .returning(MailDelivery.id)
        )
        if appended:
            return
        last = (
            await MailDelivery.select(MailDelivery.next_attempt_at, MailDelivery.sent_at)
            .where(mine)
            .order_by(MailDelivery.created_at, ascending=False)
            .first()
        )
        leaves = now + FIRST_DELAY
        if last:
            previous = _aware(last["sent_at"]) or _aware(last["next_attempt_at"])
            leaves = max(leaves, previous + WINDOW)
        # mail_waiting_idx: another notification queued this page's mail meanwhile; join it.
        inserted = (
            await MailDelivery.insert(
                MailDelivery(user=user_id, kind=note.kind, thread=thread, items=item, next_attempt_at=leaves)
            )
            .on_conflict(action="DO NOTHING")
            .returning(MailDelivery.id)
        )
        if inserted:
            return


# The worker ------------------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    user: int
    kind: str
    thread: str
    items: str
    subject: str
    text_body: str
    html_body: str
    attempts: int
    email: str
    first_name: str
    locale: str
    prefs: object
    suspended_until: datetime | None
    mail_stopped_at: datetime | None


async def claim(limit: int = 50, lease: float = 120.0, *, now: datetime | None = None) -> list[Claimed]:
    now = now or _now()
    due = (MailDelivery.status == "pending") & (MailDelivery.next_attempt_at <= now)
    if not await MailDelivery.exists().where(due):
        return []
    async with MailDelivery._meta.db.transaction():
        if get_settings().is_postgres:
            found = await MailDelivery.raw(
                "SELECT id FROM mail_delivery WHERE status = 'pending' AND next_attempt_at <= {} "
                "ORDER BY next_attempt_at LIMIT {} FOR UPDATE SKIP LOCKED",
                now,
                limit,
            )
        else:
            found = (
                await MailDelivery.select(MailDelivery.id)
                .where(due)
                .order_by(MailDelivery.next_attempt_at)
                .limit(limit)
            )
        ids = [r["id"] for r in found]
        if not ids:
            return []
        until = now + timedelta(seconds=lease)
        await MailDelivery.update(
            {
                MailDelivery.next_attempt_at: until,
                MailDelivery.locked_until: until,
                MailDelivery.attempts: MailDelivery.attempts + 1,
            }
        ).where(MailDelivery.id.is_in(ids))
    claimed = await MailDelivery.select(
        *(getattr(MailDelivery, name) for name in ("id", "user", "kind", "thread", "items", "subject")),
        MailDelivery.text_body,
        MailDelivery.html_body,
        MailDelivery.attempts,
        MailDelivery.user.email.as_alias("email"),
        MailDelivery.user.first_name.as_alias("first_name"),
        MailDelivery.user.locale.as_alias("locale"),
        MailDelivery.user.notification_prefs.as_alias("prefs"),
        MailDelivery.user.suspended_until.as_alias("suspended_until"),
        MailDelivery.user.mail_stopped_at.as_alias("mail_stopped_at"),
    ).where(MailDelivery.id.is_in(ids))
    return [Claimed(**row) for row in claimed]


def still_wanted(c: Claimed) -> bool:
    """Preferences and stops changed since queuing count: an unsubscribe stops what waits too."""
    if c.mail_stopped_at or suspension(c.__dict__):
        return False
    return digest(c.prefs) != "off" if c.kind == "digest" else wants_mail(c.prefs, c.kind)


@cache
def _templates():
    return make_environment(get_settings())


def render(name: str, context: dict) -> str:
    return _templates().get_template(name).render(context)


def thread_id(c: Claimed) -> str:
    # Every mail about one page refers to the same root, as GitHub's do: one thread in the reader's client.
    digest_of = hashlib.sha256(f"{c.user}:{c.thread}".encode()).hexdigest()[:24]
    return f"<thread.{digest_of}@{get_settings().host}>"


def compose(c: Claimed) -> EmailMessage:
    settings = get_settings()
    stop_kind = "digest" if c.kind == "digest" else c.kind
    context = {
        "first_name": c.first_name,
        "unsubscribe": unsubscribe_url(c.user, stop_kind),
        "settings_url": f"{settings.base_url}/settings/notifications",
    }
    with i18n.speaking(c.locale):
        if c.kind == "digest":
            subject, text, html = c.subject, c.text_body, c.html_body
        else:
            lines = [mail_line(json.loads(raw)) for raw in c.items.splitlines() if raw.strip()]
            context |= {"lines": lines, "page": f"{settings.base_url}{c.thread}", "kind": c.kind}
            subject = i18n.gettext(TITLES.get(c.kind, "Voisinage"))
            text = render("mail/notification.txt", context)
            html = render("mail/notification.html", context)
        context["body"] = text
        msg = EmailMessage(policy=ONE_LINE_HEADERS)
        msg["From"] = settings.mail_from
        msg["To"] = formataddr(("", c.email))
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=f"m{c.id}", domain=settings.host)
        if c.kind != "digest":
            msg["In-Reply-To"] = msg["References"] = thread_id(c)
        msg["List-Unsubscribe"] = f"<{context['unsubscribe']}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text + render("mail/footer.txt", context))
        msg.add_alternative(render("mail/page.html", context | {"content": html, "subject": subject}), subtype="html")
        msg["Content-Language"] = i18n.current_locale.get()
    return msg


async def _send(c: Claimed) -> tuple[str, int]:
    """("sent" | "unwanted" | "refused" | "retry", SMTP code)."""
    if not still_wanted(c):
        return "unwanted", 0
    try:
        await transmit(compose(c), sender=envelope_sender(c.user, c.email))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row, none ends the round
        code = refusal_code(exc)
        metrics.MAIL_FAILURES.inc()
        log.warning("notification mail %s not sent: %s %s", c.id, type(exc).__name__, code or "")
        return ("refused" if code >= 500 else "retry"), code
    return "sent", 250


async def deliver(batch: list[Claimed], *, backoff_base: float = 60.0, now: datetime | None = None) -> dict[str, int]:
    outcomes = await asyncio.gather(*(_send(c) for c in batch))
    now = now or _now()
    counts = {"sent": 0, "unwanted": 0, "refused": 0, "retry": 0, "failed": 0}
    for c, (outcome, code) in zip(batch, outcomes, strict=True):
        done = {MailDelivery.locked_until: None}
        if outcome == "sent":
            done |= {MailDelivery.status: "sent", MailDelivery.sent_at: now}
        elif outcome == "retry" and c.attempts < MAX_ATTEMPTS:
            done |= {MailDelivery.next_attempt_at: now + timedelta(seconds=backoff(c.attempts, backoff_base, None))}
            done |= {MailDelivery.last_error: f"smtp {code}" if code else "unreachable"}
        else:
            outcome = "failed" if outcome == "retry" else outcome
            done |= {MailDelivery.status: "failed", MailDelivery.last_error: f"{outcome} {code or ''}".strip()}
        counts[outcome] += 1
        await MailDelivery.update(done).where(MailDelivery.id == c.id)
        if outcome == "refused":
            await stop_address(c.user, now)
    return counts


async def stop_address(user_id: int, now: datetime) -> None:
    """No more mail to an address its server refuses; the person sees it on their next visit."""
    await User.update({User.mail_stopped_at: now}).where(User.id == user_id)
    await MailDelivery.update({MailDelivery.status: "failed", MailDelivery.last_error: "address stopped"}).where(
        (MailDelivery.user == user_id) & (MailDelivery.status == "pending")
    )


async def resume_address(user_id: int) -> None:
    await User.update({User.mail_stopped_at: None}).where(User.id == user_id)


async def run_until_idle(
    *, batch_size: int = 50, lease: float = 120.0, backoff_base: float = 60.0, now: datetime | None = None
) -> int:
    """Sends everything due (at `now`, a test's clock); returns how many left."""
    sent = 0
    while batch := await claim(batch_size, lease, now=now):
        sent += (await deliver(batch, backoff_base=backoff_base, now=now))["sent"]
    return sent


async def work_forever(settings: Settings, *, poll: float = 5.0, batch_size: int = 50) -> None:
    async def send_due() -> None:
        await run_until_idle(batch_size=batch_size)

    await periodic(poll, send_due, name="mail round")


async def prune(days: int = 30) -> None:
    await MailDelivery.delete().where(
        MailDelivery.status.is_in(["sent", "failed"]) & (MailDelivery.created_at < _now() - timedelta(days=days))
    )
