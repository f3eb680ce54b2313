"""The push outbox: notifications become deliveries, a worker sends them.

A reply only inserts outbox rows (one per device); the worker sends them
later, so nothing a push service does can slow or fail a request. Claiming a
batch moves its rows' `next_attempt_at` forward by a lease: a worker killed
mid-batch leaves rows that come back when the lease ends, and two workers
never hold the same row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
IMMEDIATE writer on SQLite).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app import i18n, metrics
from app.access import suspension
from app.background import periodic
from app.db.rows import rows
from app.notify.preferences import wants_push
from app.notify.push import Sender, payload
from app.notify.queries import insert_all, on_notified
from app.notify.tables import Notification, PushDelivery, PushSubscription
from app.notify.text import describe
from app.settings import Settings, get_settings

log = logging.getLogger("voisinage.push")

MAX_ATTEMPTS = 5

TITLES = {
    "reply_to_post": i18n.N_("Nouvelle réponse à votre annonce"),
    "reply_in_thread": i18n.N_("Nouvelle réponse dans une discussion"),
    "message": i18n.N_("Nouveau message"),
    "event": i18n.N_("Un événement a changé"),
    "help_match": i18n.N_("Un voisin a besoin de vous"),
    "moderation": i18n.N_("Modération"),
    "loan": i18n.N_("Prêt"),
    "ride": i18n.N_("Covoiturage"),
    "alert": i18n.N_("Alerte urgente dans votre quartier"),
}
# A private message should wake the phone; the rest can wait for a good moment.
URGENCY = {"message": "high", "alert": "high", "help_match": "normal", "moderation": "normal"}


def topic_for(user_id: int, url: str) -> str:
    # Same page, same person: a newer message replaces one the phone has not fetched yet.
    return hashlib.sha256(f"{user_id}:{url}".encode()).hexdigest()[:32]


@on_notified
async def enqueue(notifications: list[Notification]) -> None:
    """Called by notify(): one outbox row per device of each person who wants this kind."""
    by_user = {n.user: n for n in notifications}
    subscriptions = await PushSubscription.select(
        PushSubscription.id,
        PushSubscription.user,
        PushSubscription.user.notification_prefs.as_alias("prefs"),
        PushSubscription.user.suspended_until.as_alias("suspended_until"),
        PushSubscription.user.locale.as_alias("locale"),
    ).where(PushSubscription.user.is_in(list(by_user)))
    rows = []
    for sub in subscriptions:
        note = by_user[sub["user"]]
        if not wants_push(sub["prefs"], note.kind) or suspension(sub):
            continue
        title = i18n.translations(sub["locale"] or i18n.DEFAULT_LOCALE).gettext(TITLES.get(note.kind, "Voisinage"))
        topic = topic_for(note.user, note.url)
        rows.append(
            PushDelivery(
                subscription=sub["id"],
                payload=payload(title, describe(note.kind, note.params, sub["locale"]), note.url, topic).decode(),
                topic=topic,
                urgency=URGENCY.get(note.kind, "normal"),
            )
        )
    if rows:
        await insert_all(PushDelivery, rows)
        wake()


# The worker ------------------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    subscription: int
    endpoint: str
    p256dh: str
    auth: str
    payload: str
    topic: str
    urgency: str
    attempts: int
    suspended_until: datetime | None


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def claim(limit: int = 50, lease: float = 60.0) -> list[Claimed]:
    now = _now()
    due = (PushDelivery.status == "pending") & (PushDelivery.next_attempt_at <= now)
    # An idle poll is one indexed read, without taking the (SQLite) writer.
    if not await PushDelivery.exists().where(due):
        return []
    db = PushDelivery._meta.db
    async with db.transaction():
        if get_settings().is_postgres:
            rows = await PushDelivery.raw(
                "SELECT id FROM push_delivery WHERE status = 'pending' AND next_attempt_at <= {} "
                "ORDER BY next_attempt_at LIMIT {} FOR UPDATE SKIP LOCKED",
                now,
                limit,
            )
        else:
            rows = (
                await PushDelivery.select(PushDelivery.id)
                .where(due)
                .order_by(PushDelivery.next_attempt_at)
                .limit(limit)
            )
        ids = [r["id"] for r in rows]
        if not ids:
            return []
        until = now + timedelta(seconds=lease)
        await PushDelivery.update(
            {
                PushDelivery.next_attempt_at: until,
                PushDelivery.locked_until: until,
                PushDelivery.attempts: PushDelivery.attempts + 1,
            }
        ).where(PushDelivery.id.is_in(ids))
    found = await PushDelivery.select(
        PushDelivery.id,
        PushDelivery.subscription,
        PushDelivery.subscription.endpoint.as_alias("endpoint"),
        PushDelivery.subscription.p256dh.as_alias("p256dh"),
        PushDelivery.subscription.auth.as_alias("auth"),
        PushDelivery.payload,
        PushDelivery.topic,
        PushDelivery.urgency,
        PushDelivery.attempts,
        PushDelivery.subscription.user.suspended_until.as_alias("suspended_until"),
    ).where(PushDelivery.id.is_in(ids))
    return [Claimed(**row) for row in found]


def backoff(attempts: int, base: float, retry_after: float | None) -> float:
    delay = min(base * 2 ** (attempts - 1), 3600.0)
    return max(delay, min(retry_after or 0.0, 3600.0))


async def deliver(batch: list[Claimed], sender: Sender, *, backoff_base: float = 30.0) -> dict[str, int]:
    """Sends a claimed batch side by side, then records every outcome."""
    counts = {"sent": 0, "retry": 0, "gone": 0, "failed": 0}
    # Suspended since the row was queued: nothing more reaches them.
    suspended = [c.id for c in batch if suspension(c)]
    live = [c for c in batch if c.id not in suspended]
    outcomes = await asyncio.gather(
        *(sender.send(c.endpoint, c.p256dh, c.auth, c.payload.encode(), topic=c.topic, urgency=c.urgency) for c in live)
    )
    now = _now()
    sent, gone_subscriptions, subscriptions_ok = [], set(), set()
    # Outcomes are grouped so a failing push service costs a query per kind of
    # answer, not one per delivery.
    failed: dict[str, list[int]] = {"suspended": suspended} if suspended else {}
    later: dict[tuple[float, str], list[int]] = {}
    for c, outcome in zip(live, outcomes, strict=False):
        if outcome.delivered:
            sent.append(c.id)
            subscriptions_ok.add(c.subscription)
        elif outcome.gone:
            gone_subscriptions.add(c.subscription)
            metrics.PUSH_FAILURES.labels("gone").inc()
            log.info("push subscription %s removed: %s", c.subscription, outcome.error)
        elif c.attempts >= MAX_ATTEMPTS:
            counts["failed"] += 1
            metrics.PUSH_FAILURES.labels("failed").inc()
            failed.setdefault(outcome.error, []).append(c.id)
        else:
            counts["retry"] += 1
            metrics.PUSH_FAILURES.labels("retry").inc()
            later.setdefault((backoff(c.attempts, backoff_base, outcome.retry_after), outcome.error), []).append(c.id)
    if sent:
        counts["sent"] = len(sent)
        await PushDelivery.update(
            {PushDelivery.status: "sent", PushDelivery.sent_at: now, PushDelivery.locked_until: None}
        ).where(PushDelivery.id.is_in(sent))
        await PushSubscription.update({PushSubscription.last_success_at: now, PushSubscription.failures: 0}).where(
            PushSubscription.id.is_in(list(subscriptions_ok))
        )
    for (delay, error), ids in later.items():
        await PushDelivery.update(
            {
                PushDelivery.next_attempt_at: now + timedelta(seconds=delay),
                PushDelivery.locked_until: None,
                PushDelivery.last_error: error,
            }
        ).where(PushDelivery.id.is_in(ids))
    for error, ids in failed.items():
        await PushDelivery.update(
            {PushDelivery.status: "failed", PushDelivery.last_error: error, PushDelivery.locked_until: None}
        ).where(PushDelivery.id.is_in(ids))
    if gone_subscriptions:
        # The deliveries go with the subscription (ON DELETE CASCADE).
        counts["gone"] = len(gone_subscriptions)
        await PushSubscription.delete().where(PushSubscription.id.is_in(list(gone_subscriptions)))
    return counts


async def run_until_idle(
    sender: Sender, *, batch_size: int = 50, lease: float = 60.0, backoff_base: float = 30.0
) -> int:
    """Sends everything due now; returns how many were delivered."""
    delivered = 0
    while batch := await claim(batch_size, lease):
        delivered += (await deliver(batch, sender, backoff_base=backoff_base))["sent"]
    return delivered


_wake = asyncio.Event()


def wake() -> None:
    # An in-process worker sends at once instead of at its next poll.
    _wake.set()


async def work_forever(
    settings: Settings, *, poll: float = 1.0, batch_size: int = 50, lease: float = 60.0, backoff_base: float = 30.0
) -> None:
    """Sends what is due, then waits for `poll` seconds or a wake() from this process."""
    sender = Sender(settings)

    async def send_due() -> None:
        await run_until_idle(sender, batch_size=batch_size, lease=lease, backoff_base=backoff_base)

    try:
        await periodic(poll, send_due, wake=_wake, name="push round")
    finally:
        await sender.aclose()


async def backlog() -> tuple[int, float]:
    """How many deliveries are not sent yet, and for how many seconds the one
    due the longest has been due (0 when none is): one read of the outbox index."""
    found = await rows(
        PushDelivery.raw(
            "SELECT count(*) AS pending, min(next_attempt_at) AS next_attempt_at "
            "FROM push_delivery WHERE status = 'pending'"
        )
    )
    first_due = found[0]["next_attempt_at"]
    waited = (_now() - first_due).total_seconds() if first_due else 0.0
    return found[0]["pending"], max(waited, 0.0)


async def prune(days: int = 30) -> None:
    """Sent and failed rows are kept a month for support questions, then dropped."""
    await PushDelivery.delete().where(
        PushDelivery.status.is_in(["sent", "failed"]) & (PushDelivery.created_at < _now() - timedelta(days=days))
    )
