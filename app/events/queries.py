"""Events and their seats.

A seat decision reads the event's counters and writes a signup: it runs in a
transaction that holds the event (the single SQLite writer with BEGIN
IMMEDIATE; SELECT … FOR UPDATE on PostgreSQL), so 100 people clicking at once
for 10 places get exactly 10 seats and 90 places on the waiting list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.accounts.tables import User
from app.db.keyset import Keyset, keyset_page
from app.db.rows import rows
from app.events.tables import Event, Signup
from app.posts.tables import Post

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class SignupResult:
    status: str  # going | waitlist
    changed: bool


class EventClosed(Exception):
    """Cancelled or already started: the French reason is the message."""


def _is_postgres() -> bool:
    return Event._meta.db.engine_type == "postgres"


async def create_event(
    *,
    author: User,
    title: str,
    body: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int | None,
    photos: list,
    group: dict | None = None,
) -> int:
    from app.posts import queries as posts

    async with Event._meta.db.transaction():
        post_id = await posts.create_post(
            author=author, kind="event", title=title, body=body, details={}, photos=photos, group=group
        )
        await Event.insert(
            Event(
                post=post_id,
                neighbourhood=group["neighbourhood"] if group else author.neighbourhood,
                starts_at=starts_at,
                ends_at=ends_at,
                place=place,
                capacity=capacity,
            )
        )
    return post_id


async def for_post(post_id: int) -> dict | None:
    return await Event.select().where(Event.post == post_id).first()


async def update_event(
    post_id: int, *, title: str, body: str, starts_at: datetime, ends_at: datetime, place: str, capacity: int | None
) -> bool:
    """Saves the changes; True when the time or the place changed (attendees are told)."""
    async with Event._meta.db.transaction():
        before = await for_post(post_id)
        await Post.update({Post.title: title, Post.body: body, Post.updated_at: datetime.now(timezone.utc)}).where(
            Post.id == post_id
        )
        await Event.update(
            {
                Event.starts_at: starts_at,
                Event.ends_at: ends_at,
                Event.place: place,
                Event.capacity: capacity,
                Event.reminded_at: None if before["starts_at"] != starts_at else before["reminded_at"],
            }
        ).where(Event.post == post_id)
        if capacity is not None:
            await _fill_from_waitlist(before["id"])
    return before["starts_at"] != starts_at or before["ends_at"] != ends_at or before["place"] != place


async def cancel_event(post_id: int, title: str, *, actor_id: int | None = None) -> bool:
    """Marks the event cancelled (it stays visible, marked « Annulé ») and
    tells everyone signed up; False when it already was."""
    from app.notify.queries import notify

    cancelled = (
        await Event.update({Event.cancelled_at: datetime.now(timezone.utc)})
        .where((Event.post == post_id) & Event.cancelled_at.is_null())
        .returning(Event.id)
    )
    if not cancelled:
        return False
    await notify(
        await people_signed_up(cancelled[0]["id"]),
        "event",
        url=f"/posts/{post_id}",
        actor_id=actor_id,
        params={"what": "cancelled", "title": title},
    )
    return True


async def people_signed_up(event_id: int) -> list[int]:
    rows = await Signup.select(Signup.user).where(
        (Signup.event == event_id) & Signup.status.is_in(["going", "waitlist"])
    )
    return [r["user"] for r in rows]


async def _lock(event_id: int) -> dict:
    if _is_postgres():
        rows = await Event.raw("SELECT * FROM event WHERE id = {} FOR UPDATE", event_id)
        return rows[0]
    return await Event.select().where(Event.id == event_id).first()


async def sign_up(event_id: int, user_id: int, now: datetime | None = None) -> SignupResult:
    from app.i18n import gettext

    now = now or datetime.now(timezone.utc)
    async with Event._meta.db.transaction():
        event = await _lock(event_id)
        if event["cancelled_at"] is not None:
            raise EventClosed(gettext("Cet événement est annulé : les inscriptions sont fermées."))
        if event["starts_at"] <= now:
            raise EventClosed(gettext("Cet événement a déjà commencé : les inscriptions sont fermées."))
        existing = await Signup.select().where((Signup.event == event_id) & (Signup.user == user_id)).first()
        if existing and existing["status"] in ("going", "waitlist"):
            return SignupResult(existing["status"], changed=False)
        capacity = event["capacity"]
        if capacity is None or event["going_count"] < capacity:
            status, position = "going", 0
            await Event.update({Event.going_count: Event.going_count + 1}).where(Event.id == event_id)
        else:
            last = await Signup.raw(
                "SELECT COALESCE(MAX(position), 0) AS last FROM signup WHERE event = {} AND status = 'waitlist'",
                event_id,
            )
            status, position = "waitlist", int(last[0]["last"]) + 1
            await Event.update({Event.waitlist_count: Event.waitlist_count + 1}).where(Event.id == event_id)
        if existing:
            await Signup.update({Signup.status: status, Signup.position: position, Signup.created_at: now}).where(
                Signup.id == existing["id"]
            )
        else:
            await Signup.insert(Signup(event=event_id, user=user_id, status=status, position=position, created_at=now))
    return SignupResult(status, changed=True)


async def withdraw(event_id: int, user_id: int) -> int | None:
    """Gives the place back; returns the neighbour promoted from the waiting list, if any."""
    async with Event._meta.db.transaction():
        await _lock(event_id)
        existing = await Signup.select().where((Signup.event == event_id) & (Signup.user == user_id)).first()
        if not existing or existing["status"] == "cancelled":
            return None
        await Signup.update({Signup.status: "cancelled", Signup.position: 0}).where(Signup.id == existing["id"])
        if existing["status"] == "waitlist":
            await Event.update({Event.waitlist_count: Event.waitlist_count - 1}).where(Event.id == event_id)
            return None
        await Event.update({Event.going_count: Event.going_count - 1}).where(Event.id == event_id)
        promoted = await _fill_from_waitlist(event_id)
    return promoted[0] if promoted else None


async def leave(event_id: int, user_id: int) -> None:
    """Gives the place back and tells the neighbour who moves up from the
    waiting list: the one way out, whether one withdraws or leaves Voisinage."""
    from app.notify.queries import notify

    promoted = await withdraw(event_id, user_id)
    if promoted:
        event = await Event.select(Event.post, Event.post.title).where(Event.id == event_id).first()
        await notify(
            [promoted],
            "event",
            url=f"/posts/{event['post']}",
            params={"what": "promoted", "title": event["post.title"]},
        )


async def _fill_from_waitlist(event_id: int) -> list[int]:
    """Within the caller's transaction: moves the first on the waiting list up while seats are free."""
    event = await Event.select().where(Event.id == event_id).first()
    free = None if event["capacity"] is None else event["capacity"] - event["going_count"]
    if free is not None and free <= 0:
        return []
    query = (
        Signup.select(Signup.id, Signup.user)
        .where((Signup.event == event_id) & (Signup.status == "waitlist"))
        .order_by(Signup.position)
    )
    if free is not None:
        query = query.limit(free)
    promoted = await query
    for row in promoted:
        await Signup.update({Signup.status: "going", Signup.position: 0}).where(Signup.id == row["id"])
    if promoted:
        await Event.update(
            {
                Event.going_count: Event.going_count + len(promoted),
                Event.waitlist_count: Event.waitlist_count - len(promoted),
            }
        ).where(Event.id == event_id)
    return [r["user"] for r in promoted]


async def my_signup(event_id: int, user_id: int) -> dict | None:
    row = await Signup.select().where((Signup.event == event_id) & (Signup.user == user_id)).first()
    return row if row and row["status"] != "cancelled" else None


async def attendees(event_id: int, limit: int = 200) -> list[dict]:
    return (
        await Signup.select(Signup.user, Signup.user.first_name, Signup.user.last_name)
        .where((Signup.event == event_id) & (Signup.status == "going"))
        .order_by(Signup.id)
        .limit(limit)
    )


_LIST = (
    "SELECT e.id AS event_id, e.starts_at, e.ends_at, e.place, e.capacity, e.going_count, e.waitlist_count, "
    "e.cancelled_at, p.id, p.title, p.author, p.status FROM event e JOIN post p ON p.id = e.post "
    "WHERE e.neighbourhood = {} AND p.status <> 'hidden' AND p.\"group\" IS NULL"
)
_SOONEST_FIRST = Keyset("e.starts_at", "e.id", keys=("starts_at", "event_id"))


async def upcoming(
    neighbourhood_id: int, now: datetime, *, after: tuple[datetime, int] | None = None, limit: int = 30
) -> tuple[list[dict], tuple[datetime, int] | None]:
    """Events not yet over, soonest first; keyset on (starts_at, id)."""
    return await keyset_page(
        Event.raw(_LIST + " AND e.ends_at >= {}", neighbourhood_id, now),
        _SOONEST_FIRST,
        cursor=after or None,
        size=limit,
    )


async def past(neighbourhood_id: int, now: datetime, limit: int = 20) -> list[dict]:
    return await rows(
        Event.raw(
            _LIST + " AND e.ends_at < {} ORDER BY e.starts_at DESC, e.id DESC LIMIT {}", neighbourhood_id, now, limit
        )
    )


async def calendar(neighbourhood_id: int, since: datetime, limit: int = 500) -> list[dict]:
    return await rows(
        Event.raw(
            "SELECT e.id AS event_id, e.starts_at, e.ends_at, e.place, e.cancelled_at, p.id, p.title, p.body, p.updated_at "
            "FROM event e JOIN post p ON p.id = e.post WHERE e.neighbourhood = {} AND e.starts_at >= {} "
            "AND p.status <> 'hidden' AND p.\"group\" IS NULL ORDER BY e.starts_at, e.id LIMIT {}",
            neighbourhood_id,
            since,
            limit,
        ),
        types={"updated_at": Post.updated_at},
    )


async def send_event_reminders(now: datetime | None = None) -> int:
    """Tells everyone going, the day before, once per event."""
    from app.notify.queries import notify

    now = now or datetime.now(timezone.utc)
    tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
    # Stored in UTC (text on SQLite): compare with UTC values only.
    start = datetime.combine(tomorrow, datetime.min.time(), PARIS).astimezone(timezone.utc)
    end = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), PARIS).astimezone(timezone.utc)
    due = await Event.select(Event.id, Event.post, Event.starts_at, Event.post.title).where(
        Event.reminded_at.is_null()
        & Event.cancelled_at.is_null()
        & (Event.starts_at >= start)
        & (Event.starts_at < end)
    )
    sent = 0
    for event in due:
        # Claimed only while still on: an event cancelled meanwhile is not announced.
        claimed = (
            await Event.update({Event.reminded_at: now})
            .where((Event.id == event["id"]) & Event.reminded_at.is_null() & Event.cancelled_at.is_null())
            .returning(Event.id)
        )
        if not claimed:
            continue
        going = await Signup.select(Signup.user).where((Signup.event == event["id"]) & (Signup.status == "going"))
        await notify(
            [g["user"] for g in going],
            "event",
            url=f"/posts/{event['post']}",
            params={"what": "reminder", "time": event["starts_at"].isoformat(), "title": event["post.title"]},
        )
        sent += 1
    return sent
