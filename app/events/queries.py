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
from app.db.rows import held_row, rows
from app.events.recurrence import Rule, dates, moved, wall_clock_change
from app.events.tables import Event, Occurrence, Signup
from app.posts.tables import Post

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class SignupResult:
    status: str  # going | waitlist
    changed: bool


class EventClosed(Exception):
    """Cancelled or already started: the French reason is the message."""


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
    rule: Rule | None = None,
    nearby: bool = False,
    group: dict | None = None,
) -> int:
    from app.posts import queries as posts

    async with Event._meta.db.transaction():
        post_id = await posts.create_post(
            author=author,
            kind="event",
            title=title,
            body=body,
            details={},
            photos=photos,
            nearby=nearby and not group,
            group=group,
        )
        rule_columns = (
            {
                "repeat": rule.repeat,
                "repeat_interval": rule.interval,
                "repeat_nth": rule.nth,
                "repeat_until": rule.until,
                "repeat_count": rule.count,
            }
            if rule
            else {}
        )
        # A group's event belongs to the group's quartier (its author may live in a quartier voisin).
        neighbourhood = group["neighbourhood"] if group else author.neighbourhood
        inserted = await Event.insert(
            Event(
                post=post_id,
                neighbourhood=neighbourhood,
                starts_at=starts_at,
                ends_at=ends_at,
                place=place,
                capacity=capacity,
                **rule_columns,
            )
        )
        if rule:
            # Made once here, so lists and pages read dates by index instead of computing them.
            await Occurrence.insert(
                *(
                    Occurrence(event=inserted[0]["id"], neighbourhood=neighbourhood, starts_at=s, ends_at=e)
                    for s, e in dates(starts_at, ends_at, rule)
                )
            )
    return post_id


async def for_post(post_id: int) -> dict | None:
    return await Event.select().where(Event.post == post_id).first()


async def update_event(
    post_id: int,
    *,
    title: str,
    body: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int | None,
    nearby: bool = False,
) -> bool:
    """Saves the changes; True when the time or the place changed (attendees
    are told). The dates of a series all take the first date's new hours
    (its day stays: the form refuses another)."""
    async with Event._meta.db.transaction():
        before = await for_post(post_id)
        if before["repeat"] and (before["starts_at"], before["ends_at"]) != (starts_at, ends_at):
            await _move_series(
                before["id"], *wall_clock_change((before["starts_at"], before["ends_at"]), (starts_at, ends_at))
            )
        await Post.update(
            {Post.title: title, Post.body: body, Post.nearby: nearby, Post.updated_at: datetime.now(timezone.utc)}
        ).where(Post.id == post_id)
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
            if before["repeat"]:
                for occurrence in await Occurrence.select(Occurrence.id).where(
                    (Occurrence.event == before["id"]) & (Occurrence.waitlist_count > 0)
                ):
                    await _fill_from_waitlist(before["id"], occurrence["id"])
            else:
                await _fill_from_waitlist(before["id"])
    return before["starts_at"] != starts_at or before["ends_at"] != ends_at or before["place"] != place


async def _move_series(event_id: int, shift: timedelta, length: timedelta) -> None:
    """Every date of the series moved by `shift` and lasting `length` (at most
    52 dates); a date still to come whose start moved is reminded again, at its new hour."""
    now = datetime.now(timezone.utc)
    for date in await Occurrence.select(Occurrence.id, Occurrence.starts_at, Occurrence.reminded_at).where(
        Occurrence.event == event_id
    ):
        start, end = moved(date["starts_at"], shift, length)
        reminded = None if shift and start > now else date["reminded_at"]
        await Occurrence.update(
            {Occurrence.starts_at: start, Occurrence.ends_at: end, Occurrence.reminded_at: reminded}
        ).where(Occurrence.id == date["id"])


async def next_dates_signed_up(event_id: int, now: datetime) -> dict[datetime, list[int]]:
    """The people signed up (or waiting) for a date of the series still to
    come, by the start of the first such date of each: what a change tells them."""
    found = (
        await Signup.select(Signup.user, Signup.occurrence.starts_at.as_alias("starts_at"))
        .where(
            (Signup.event == event_id)
            & Signup.status.is_in(["going", "waitlist"])
            & (Signup.occurrence.starts_at > now)
            & Signup.occurrence.cancelled_at.is_null()
        )
        .order_by(Signup.occurrence.starts_at)
    )
    first: dict[int, datetime] = {}
    for row in found:
        first.setdefault(row["user"], row["starts_at"])
    by_date: dict[datetime, list[int]] = {}
    for user, start in first.items():
        by_date.setdefault(start, []).append(user)
    return by_date


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


async def people_signed_up(event_id: int, occurrence_id: int | None = None) -> list[int]:
    """Everyone signed up for the event (any of its dates), or for one date."""
    where = (Signup.event == event_id) & Signup.status.is_in(["going", "waitlist"])
    if occurrence_id is not None:
        where &= Signup.occurrence == occurrence_id
    rows = await Signup.select(Signup.user).where(where).distinct()
    return [r["user"] for r in rows]


async def expecting(post_id: int, now: datetime) -> list[int]:
    """Everyone signed up (or waiting) for the event of this post on a date
    still to come and not cancelled: those to tell when the post goes."""
    where = (
        (Signup.event.post == post_id)
        & Signup.status.is_in(["going", "waitlist"])
        & Signup.event.cancelled_at.is_null()
        & (
            (Signup.occurrence.is_null() & (Signup.event.starts_at > now))
            | ((Signup.occurrence.starts_at > now) & Signup.occurrence.cancelled_at.is_null())
        )
    )
    rows = await Signup.select(Signup.user).where(where).distinct()
    return [r["user"] for r in rows]


def _seats(occurrence_id: int | None) -> type[Event] | type[Occurrence]:
    """The row that holds the counters: the event, or the date of a series."""
    return Event if occurrence_id is None else Occurrence


def _signups_of(event_id: int, occurrence_id: int | None):
    same = Signup.event == event_id
    return same & (Signup.occurrence.is_null() if occurrence_id is None else Signup.occurrence == occurrence_id)


async def _lock(event_id: int, occurrence_id: int | None = None) -> dict:
    """The event with the counters of the date asked for, held until the transaction ends."""
    table = _seats(occurrence_id)
    held = occurrence_id if occurrence_id is not None else event_id
    row = await held_row(table, held)
    if occurrence_id is None:
        return row
    if row is None or row["event"] != event_id:
        raise LookupError(occurrence_id)
    event = await Event.select().where(Event.id == event_id).first()
    # The date's own counters, start and cancellation; a cancelled series closes every date.
    return {
        **event,
        **{k: row[k] for k in ("starts_at", "ends_at", "going_count", "waitlist_count")},
        "cancelled_at": row["cancelled_at"] or event["cancelled_at"],
    }


async def sign_up(
    event_id: int, user_id: int, now: datetime | None = None, *, occurrence_id: int | None = None
) -> SignupResult:
    """A seat, or a place on the waiting list, for the event; for one date
    (`occurrence_id`) of a recurring event."""
    from app.i18n import gettext

    now = now or datetime.now(timezone.utc)
    seats = _seats(occurrence_id)
    held = event_id if occurrence_id is None else occurrence_id
    async with Event._meta.db.transaction():
        event = await _lock(event_id, occurrence_id)
        if event["cancelled_at"] is not None:
            raise EventClosed(gettext("Cet événement est annulé : les inscriptions sont fermées."))
        if event["starts_at"] <= now:
            raise EventClosed(gettext("Cet événement a déjà commencé : les inscriptions sont fermées."))
        existing = await Signup.select().where(_signups_of(event_id, occurrence_id) & (Signup.user == user_id)).first()
        if existing and existing["status"] in ("going", "waitlist"):
            return SignupResult(existing["status"], changed=False)
        capacity = event["capacity"]
        if capacity is None or event["going_count"] < capacity:
            status, position = "going", 0
            await seats.update({seats.going_count: seats.going_count + 1}).where(seats.id == held)
        else:
            last = (
                await Signup.select(Signup.position)
                .where(_signups_of(event_id, occurrence_id) & (Signup.status == "waitlist"))
                .order_by(Signup.position, ascending=False)
                .first()
            )
            status, position = "waitlist", (last["position"] if last else 0) + 1
            await seats.update({seats.waitlist_count: seats.waitlist_count + 1}).where(seats.id == held)
        if existing:
            await Signup.update({Signup.status: status, Signup.position: position, Signup.created_at: now}).where(
                Signup.id == existing["id"]
            )
        else:
            await Signup.insert(
                Signup(
                    event=event_id,
                    occurrence=occurrence_id,
                    user=user_id,
                    status=status,
                    position=position,
                    created_at=now,
                )
            )
    return SignupResult(status, changed=True)


async def withdraw(event_id: int, user_id: int, *, occurrence_id: int | None = None) -> int | None:
    """Gives the place back; returns the neighbour promoted from the waiting list, if any."""
    seats = _seats(occurrence_id)
    held = event_id if occurrence_id is None else occurrence_id
    async with Event._meta.db.transaction():
        await _lock(event_id, occurrence_id)
        existing = await Signup.select().where(_signups_of(event_id, occurrence_id) & (Signup.user == user_id)).first()
        if not existing or existing["status"] == "cancelled":
            return None
        await Signup.update({Signup.status: "cancelled", Signup.position: 0}).where(Signup.id == existing["id"])
        if existing["status"] == "waitlist":
            await seats.update({seats.waitlist_count: seats.waitlist_count - 1}).where(seats.id == held)
            return None
        await seats.update({seats.going_count: seats.going_count - 1}).where(seats.id == held)
        promoted = await _fill_from_waitlist(event_id, occurrence_id)
    return promoted[0] if promoted else None


async def leave(event_id: int, user_id: int, *, occurrence_id: int | None = None) -> None:
    """Gives the place back and tells the neighbour who moves up from the
    waiting list: the one way out, whether one withdraws or leaves Voisinage."""
    from app.notify.queries import notify

    promoted = await withdraw(event_id, user_id, occurrence_id=occurrence_id)
    if promoted:
        event = await Event.select(Event.post, Event.post.title).where(Event.id == event_id).first()
        await notify(
            [promoted],
            "event",
            url=f"/posts/{event['post']}",
            params={"what": "promoted", "title": event["post.title"]},
        )


async def _fill_from_waitlist(event_id: int, occurrence_id: int | None = None) -> list[int]:
    """Within the caller's transaction: moves the first on the waiting list up while seats are free."""
    seats = _seats(occurrence_id)
    held = event_id if occurrence_id is None else occurrence_id
    event = await Event.select(Event.capacity).where(Event.id == event_id).first()
    counts = await seats.select(seats.going_count).where(seats.id == held).first()
    free = None if event["capacity"] is None else event["capacity"] - counts["going_count"]
    if free is not None and free <= 0:
        return []
    query = (
        Signup.select(Signup.id, Signup.user)
        .where(_signups_of(event_id, occurrence_id) & (Signup.status == "waitlist"))
        .order_by(Signup.position)
    )
    if free is not None:
        query = query.limit(free)
    promoted = await query
    for row in promoted:
        await Signup.update({Signup.status: "going", Signup.position: 0}).where(Signup.id == row["id"])
    if promoted:
        await seats.update(
            {
                seats.going_count: seats.going_count + len(promoted),
                seats.waitlist_count: seats.waitlist_count - len(promoted),
            }
        ).where(seats.id == held)
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


# An event on one date from its own row, a recurring event's dates from
# event_occurrence: both read by (neighbourhood, starts_at) indexes.
_LIST = (
    "SELECT * FROM ("
    "SELECT e.id AS event_id, NULL AS occurrence_id, e.starts_at, e.ends_at, e.place, e.capacity, e.going_count, "
    "e.waitlist_count, e.cancelled_at, e.repeat, p.id, p.title, p.author, p.status FROM event e "
    "JOIN post p ON p.id = e.post WHERE e.neighbourhood = {} AND e.repeat = '' AND p.status <> 'hidden' AND p.\"group\" IS NULL "
    "UNION ALL "
    "SELECT e.id, o.id, o.starts_at, o.ends_at, e.place, e.capacity, o.going_count, o.waitlist_count, "
    "COALESCE(o.cancelled_at, e.cancelled_at), e.repeat, p.id, p.title, p.author, p.status FROM event_occurrence o "
    "JOIN event e ON e.id = o.event JOIN post p ON p.id = e.post WHERE o.neighbourhood = {} AND p.status <> 'hidden' "
    'AND p."group" IS NULL'
    ") AS dated WHERE 1 = 1"
)
# A post has each start once: (starts_at, post id) orders every date of every event.
_SOONEST_FIRST = Keyset("dated.starts_at", "dated.id", keys=("starts_at", "id"))
_LIST_TYPES = {"starts_at": Event.starts_at, "ends_at": Event.ends_at, "cancelled_at": Event.cancelled_at}


async def upcoming(
    neighbourhood_id: int, now: datetime, *, after: tuple[datetime, int] | None = None, limit: int = 30
) -> tuple[list[dict], tuple[datetime, int] | None]:
    """Dates not yet over, soonest first; keyset on (starts_at, post id)."""
    return await keyset_page(
        Event.raw(_LIST + " AND dated.ends_at >= {}", neighbourhood_id, neighbourhood_id, now),
        _SOONEST_FIRST,
        cursor=after or None,
        size=limit,
        types=_LIST_TYPES,
    )


async def past(neighbourhood_id: int, now: datetime, limit: int = 20) -> list[dict]:
    return await rows(
        Event.raw(
            _LIST + " AND dated.ends_at < {} ORDER BY dated.starts_at DESC, dated.id DESC LIMIT {}",
            neighbourhood_id,
            neighbourhood_id,
            now,
            limit,
        ),
        types=_LIST_TYPES,
    )


async def calendar(neighbourhood_id: int, since: datetime, limit: int = 500) -> list[dict]:
    """Events from `since` on, a series once (with its rule) if any of its dates is."""
    return await rows(
        Event.raw(
            "SELECT e.id AS event_id, e.starts_at, e.ends_at, e.place, e.cancelled_at, e.repeat, e.repeat_interval, "
            "e.repeat_nth, e.repeat_until, e.repeat_count, p.id, p.title, p.body, p.updated_at "
            "FROM event e JOIN post p ON p.id = e.post WHERE e.neighbourhood = {} AND p.status <> 'hidden' "
            'AND p."group" IS NULL '
            "AND (e.starts_at >= {} OR e.id IN (SELECT o.event FROM event_occurrence o "
            "WHERE o.neighbourhood = {} AND o.starts_at >= {})) ORDER BY e.starts_at, e.id LIMIT {}",
            neighbourhood_id,
            since,
            neighbourhood_id,
            since,
            limit,
        ),
        types={"updated_at": Post.updated_at},
    )


async def series_dates(event_ids: list[int]) -> dict[int, dict]:
    """Per recurring event: how many dates it has and the starts of those cancelled."""
    found: dict[int, dict] = {}
    if not event_ids:
        return found
    for row in await Occurrence.select(Occurrence.event, Occurrence.starts_at, Occurrence.cancelled_at).where(
        Occurrence.event.is_in(event_ids)
    ):
        series = found.setdefault(row["event"], {"count": 0, "cancelled": []})
        series["count"] += 1
        if row["cancelled_at"] is not None:
            series["cancelled"].append(row["starts_at"])
    return found


async def next_occurrences(event_id: int, now: datetime, limit: int = 8) -> list[dict]:
    """The next dates of a series not yet over, soonest first."""
    return (
        await Occurrence.select()
        .where((Occurrence.event == event_id) & (Occurrence.ends_at >= now))
        .order_by(Occurrence.starts_at)
        .limit(limit)
    )


async def occurrence(event_id: int, occurrence_id: int) -> dict | None:
    return await Occurrence.select().where((Occurrence.id == occurrence_id) & (Occurrence.event == event_id)).first()


async def my_occurrence_signups(event_id: int, occurrence_ids: list[int], user_id: int) -> dict[int, dict]:
    """The viewer's signups among these dates, by date."""
    if not occurrence_ids:
        return {}
    found = await Signup.select(Signup.occurrence, Signup.status, Signup.position).where(
        (Signup.event == event_id)
        & Signup.occurrence.is_in(occurrence_ids)
        & (Signup.user == user_id)
        & (Signup.status != "cancelled")
    )
    return {row["occurrence"]: row for row in found}


async def cancel_occurrence(event_id: int, occurrence_id: int, title: str, *, actor_id: int | None = None) -> bool:
    """Cancels one date of a series and tells the people signed up for it; False when it already was."""
    from app.notify.queries import notify

    cancelled = (
        await Occurrence.update({Occurrence.cancelled_at: datetime.now(timezone.utc)})
        .where((Occurrence.id == occurrence_id) & (Occurrence.event == event_id) & Occurrence.cancelled_at.is_null())
        .returning(Occurrence.id, Occurrence.starts_at)
    )
    if not cancelled:
        return False
    event = await Event.select(Event.post).where(Event.id == event_id).first()
    await notify(
        await people_signed_up(event_id, occurrence_id),
        "event",
        url=f"/posts/{event['post']}",
        actor_id=actor_id,
        params={"what": "date_cancelled", "title": title, "when": cancelled[0]["starts_at"].isoformat()},
    )
    return True


async def send_event_reminders(now: datetime | None = None) -> int:
    """Tells everyone going, the day before, once per event and per date of a series."""
    now = now or datetime.now(timezone.utc)
    tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
    # Stored in UTC (text on SQLite): compare with UTC values only.
    start = datetime.combine(tomorrow, datetime.min.time(), PARIS).astimezone(timezone.utc)
    end = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), PARIS).astimezone(timezone.utc)
    sent = 0
    for seats in (Event, Occurrence):
        due = await seats.select(seats.id, seats.starts_at).where(
            seats.reminded_at.is_null()
            & seats.cancelled_at.is_null()
            & (seats.starts_at >= start)
            & (seats.starts_at < end)
            # A series is reminded date by date, never through its event row.
            & (seats.repeat == "" if seats is Event else seats.event.cancelled_at.is_null())
        )
        for row in due:
            sent += await _remind(seats, row, now)
    return sent


async def _remind(seats: type[Event] | type[Occurrence], row: dict, now: datetime) -> int:
    from app.notify.queries import notify

    # Claimed only while still on: an event cancelled meanwhile is not announced.
    claimed = (
        await seats.update({seats.reminded_at: now})
        .where((seats.id == row["id"]) & seats.reminded_at.is_null() & seats.cancelled_at.is_null())
        .returning(seats.id)
    )
    if not claimed:
        return 0
    occurrence_id = row["id"] if seats is Occurrence else None
    event_id = (
        row["id"] if seats is Event else (await seats.select(seats.event).where(seats.id == row["id"]).first())["event"]
    )
    event = await Event.select(Event.post, Event.post.title).where(Event.id == event_id).first()
    going = await Signup.select(Signup.user).where(_signups_of(event_id, occurrence_id) & (Signup.status == "going"))
    await notify(
        [g["user"] for g in going],
        "event",
        url=f"/posts/{event['post']}",
        params={"what": "reminder", "time": row["starts_at"].isoformat(), "title": event["post.title"]},
    )
    return 1
