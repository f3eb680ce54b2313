"""Urgent alerts: proposing, publishing (at most DAILY_MAX per quartier and
Paris day), refusing, ending, and telling every member of the quartier.

Publishing counts the day in the same transaction as the alert changes: a
refused count leaves everything as it was, a failed publication gives its
count back. The members are told after the commit, once: only the
transaction that moved the alert to « published » tells them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.accounts.tables import User
from app.alerts.tables import Alert, AlertDay
from app.db.keyset import Keyset, keyset_page
from app.db.recent import Recent
from app.i18n import N_
from app.moderation.audit import audit
from app.notify.queries import notify
from app.templating import PARIS

# (key, French label), in the form's order.
CATEGORIES = {
    "child": N_("Enfant perdu"),
    "pet": N_("Animal perdu"),
    "water": N_("Coupure d'eau"),
    "power": N_("Coupure d'électricité"),
    "fire": N_("Incendie"),
    "road": N_("Route fermée"),
    "other": N_("Autre"),
}
# A cut or a closed road lasts the day; a lost child or pet is found, or not, within hours.
LONG_CATEGORIES = frozenset({"water", "power", "road"})
DURATIONS = (1, 3, 6, 12, 24, 48, 72)
MAX_HOURS = 72
DAILY_MAX = 3
TITLE_MAX = 80
BODY_MAX = 1000
REASON_MAX = 300

_NEWEST_FIRST = Keyset(Alert.id, descending=True)


class DailyLimitReached(Exception):
    """The quartier published DAILY_MAX alerts today already."""


def default_hours(category: str) -> int:
    return 24 if category in LONG_CATEGORIES else 6


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive UTC.
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def is_showing(alert: dict, now: datetime | None = None) -> bool:
    expires = _aware(alert.get("expires_at"))
    return alert["status"] == "published" and expires is not None and expires > (now or _now())


async def by_id(alert_id: int) -> dict | None:
    return (
        await Alert.select(
            *Alert.all_columns(),
            Alert.author.first_name.as_alias("author_first_name"),
            Alert.author.last_name.as_alias("author_last_name"),
        )
        .where(Alert.id == alert_id)
        .first()
    )


# The banner is read by every full feed page: each process keeps a
# quartier's for a few seconds (app.db.recent). Another process's change shows
# that much later; this process's own, at once (forget_showing). Expiry is
# checked at each read.
_showing: Recent[list[dict]] = Recent()


async def showing(neighbourhood_id: int) -> list[dict]:
    """The alerts on top of the quartier's feed now, newest first (alert_shown_idx)."""

    async def read() -> list[dict]:
        return (
            await Alert.select(Alert.id, Alert.category, Alert.title, Alert.published_at, Alert.expires_at)
            .where(
                (Alert.neighbourhood == neighbourhood_id) & (Alert.status == "published") & (Alert.expires_at > _now())
            )
            .order_by(Alert.id, ascending=False)
            .limit(DAILY_MAX * MAX_HOURS // 24 + 1)
        )

    moment = _now()
    return [alert for alert in await _showing.get(neighbourhood_id, read) if alert["expires_at"] > moment]


def forget_showing(*neighbourhood_ids: int) -> None:
    _showing.forget(*neighbourhood_ids)


async def proposals(reach: list[int] | None, *, before: int | None = None, size: int = 20):
    """The proposals waiting in the quartiers a moderator has (None: all), newest
    first: on a busy evening the fresh one is on top (alert_queue_idx)."""
    query = Alert.select(
        *Alert.all_columns(),
        Alert.author.first_name.as_alias("author_first_name"),
        Alert.author.last_name.as_alias("author_last_name"),
        Alert.neighbourhood.name.as_alias("neighbourhood_name"),
    ).where(Alert.status == "proposed")
    if reach is not None:
        query = query.where(Alert.neighbourhood.is_in(reach or [0]))
    return await keyset_page(query, _NEWEST_FIRST, cursor=before, size=size)


async def _count_one(neighbourhood_id: int, now: datetime) -> None:
    """One more alert today for the quartier, or DailyLimitReached: one
    statement, so two moderators publishing the last one at once get one each
    of « counted » and « refused » on both engines."""
    day = now.astimezone(PARIS).date().isoformat()
    counted = await AlertDay.raw(
        "INSERT INTO alert_day (neighbourhood, day, published) VALUES ({}, {}, 1) "
        "ON CONFLICT (neighbourhood, day) DO UPDATE SET published = alert_day.published + 1 "
        "WHERE alert_day.published < {} RETURNING published",
        neighbourhood_id,
        day,
        DAILY_MAX,
    )
    if not counted:
        raise DailyLimitReached()


async def create(author, neighbourhood_id: int, *, category: str, title: str, body: str, hours: int, publish: bool):
    """A moderator's alert is published at once (DailyLimitReached when the day
    is full: nothing is saved); a member's waits for a moderator."""
    now = _now()
    row = Alert(
        neighbourhood=neighbourhood_id, author=author.id, category=category, title=title, body=body, hours=hours
    )
    if publish:
        row.status, row.published_at, row.expires_at, row.decided_by = (
            "published",
            now,
            now + timedelta(hours=hours),
            author.id,
        )
    async with Alert._meta.db.transaction():
        if publish:
            await _count_one(neighbourhood_id, now)
        [inserted] = await Alert.insert(row).returning(Alert.id)
        alert_id = inserted["id"]
        if publish:
            # A member's proposal is no moderation act: its approval or refusal is.
            await audit(author, "alert_publish", "alert", alert_id, title, neighbourhood=neighbourhood_id)
    if publish:
        forget_showing(neighbourhood_id)
        await _tell_members(alert_id, neighbourhood_id, category, title, author.id)
    return alert_id


async def approve(moderator, alert: dict) -> bool:
    """Publishes a proposal; False when someone decided it first (its count
    goes back with the transaction). DailyLimitReached leaves it waiting."""
    now = _now()
    try:
        async with Alert._meta.db.transaction():
            await _count_one(alert["neighbourhood"], now)
            moved = (
                await Alert.update(
                    {
                        Alert.status: "published",
                        Alert.published_at: now,
                        Alert.expires_at: now + timedelta(hours=alert["hours"]),
                        Alert.decided_by: moderator.id,
                    }
                )
                .where((Alert.id == alert["id"]) & (Alert.status == "proposed"))
                .returning(Alert.id)
            )
            if not moved:
                raise _AlreadyDecided()
            await audit(
                moderator,
                "alert_approve",
                "alert",
                alert["id"],
                alert["title"],
                neighbourhood=alert["neighbourhood"],
                target_user=alert["author"],
            )
    except _AlreadyDecided:
        return False
    forget_showing(alert["neighbourhood"])
    await _tell_members(alert["id"], alert["neighbourhood"], alert["category"], alert["title"], moderator.id)
    return True


class _AlreadyDecided(Exception):
    pass


async def refuse(moderator, alert: dict, reason: str) -> bool:
    async with Alert._meta.db.transaction():
        moved = (
            await Alert.update({Alert.status: "refused", Alert.decided_by: moderator.id, Alert.reason: reason})
            .where((Alert.id == alert["id"]) & (Alert.status == "proposed"))
            .returning(Alert.id)
        )
        if moved:
            await audit(
                moderator,
                "alert_refuse",
                "alert",
                alert["id"],
                reason,
                neighbourhood=alert["neighbourhood"],
                target_user=alert["author"],
            )
    if moved and alert["author"]:
        # The proposer hears why, as for any other moderation of their words.
        await notify(
            [alert["author"]],
            "moderation",
            url=f"/alerts/{alert['id']}",
            params={"what": "alert_refused", "title": alert["title"], "reason": reason},
            actor_id=moderator.id,
        )
    return bool(moved)


async def end(moderator, alert: dict) -> bool:
    """Ends a published alert before its time: it leaves the feed at once."""
    now = _now()
    async with Alert._meta.db.transaction():
        moved = (
            await Alert.update({Alert.status: "ended", Alert.expires_at: now})
            .where((Alert.id == alert["id"]) & (Alert.status == "published"))
            .returning(Alert.id)
        )
        if moved:
            await audit(
                moderator,
                "alert_end",
                "alert",
                alert["id"],
                alert["title"],
                neighbourhood=alert["neighbourhood"],
                target_user=alert["author"],
            )
    forget_showing(alert["neighbourhood"])
    return bool(moved)


async def _tell_members(alert_id: int, neighbourhood_id: int, category: str, title: str, actor_id: int) -> None:
    """Every member of the quartier, by push and by mail, whatever they chose
    for the other kinds (app.notify.preferences: `alert` has its own line)."""
    members = [r["id"] for r in await User.select(User.id).where(User.neighbourhood == neighbourhood_id)]
    await notify(
        members, "alert", url=f"/alerts/{alert_id}", params={"what": category, "title": title}, actor_id=actor_id
    )


async def of_author(user_id: int) -> list[dict]:
    """What the RGPD export carries: the alerts this person wrote or proposed."""
    return (
        await Alert.select(
            Alert.id,
            Alert.neighbourhood,
            Alert.category,
            Alert.title,
            Alert.body,
            Alert.status,
            Alert.created_at,
            Alert.published_at,
            Alert.expires_at,
            Alert.reason,
        )
        .where(Alert.author == user_id)
        .order_by(Alert.id)
    )
