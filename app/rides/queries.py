"""Covoiturage: a ride offered by a neighbour and the seats others take.

A seat is taken like an event's place (app.events.queries.sign_up): in a
transaction that holds the ride's row (the single SQLite writer with BEGIN
IMMEDIATE; SELECT … FOR UPDATE on PostgreSQL), and the counter only moves by
a conditional update (`seats_taken < seats`), so however many neighbours
click at once for the last seat, exactly one gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from app.accounts.tables import User
from app.db.rows import held_row
from app.rides.tables import Ride, RideSeat


class RideClosed(Exception):
    """Full, past or closed: the French reason is the message."""


@dataclass(frozen=True)
class Taken:
    changed: bool  # False: the seat was already theirs


async def create_ride(
    *,
    author: User,
    title: str,
    body: str,
    photos: list,
    origin: str,
    destination: str,
    nearby: bool = False,
    group: dict | None = None,
    **trip,
) -> int:
    """The post and its trip, in one transaction."""
    from app.posts import queries as posts

    async with Ride._meta.db.transaction():
        post_id = await posts.create_post(
            author=author, kind="ride", title=title, body=body, details={}, photos=photos, nearby=nearby, group=group
        )
        await Ride.insert(Ride(post=post_id, origin=origin, destination=destination, **trip))
    return post_id


async def update_ride(
    post_id: int,
    *,
    title: str,
    body: str,
    origin: str,
    destination: str,
    seats: int,
    nearby: bool = False,
    **times,
) -> None:
    """Saves the driver's changes; never fewer seats than neighbours already
    hold (checked by the same conditional update). Riders are told when the
    trip itself changes."""
    from app.i18n import ngettext
    from app.notify.queries import notify
    from app.posts.tables import Post

    trip = {"origin": origin, "destination": destination, **times}
    async with Ride._meta.db.transaction():
        ride = await _lock((await for_post(post_id))["id"])
        kept = (
            await Ride.update({Ride.seats: seats, **{getattr(Ride, k): v for k, v in trip.items()}})
            .where((Ride.id == ride["id"]) & (Ride.seats_taken <= seats))
            .returning(Ride.id)
        )
        if not kept:
            raise RideClosed(
                ngettext(
                    "%(num)s personne a déjà une place : gardez au moins une place.",
                    "%(num)s personnes ont déjà une place : gardez au moins autant de places.",
                    ride["seats_taken"],
                )
            )
        await Post.update(
            {Post.title: title, Post.body: body, Post.nearby: nearby, Post.updated_at: datetime.now(timezone.utc)}
        ).where(Post.id == post_id)
    if any(ride[k] != v for k, v in trip.items()):
        await notify(
            [r["user"] for r in await riders(ride["id"])],
            "ride",
            url=f"/posts/{post_id}",
            params={"what": "moved", "title": title, "when": trip["departs_at"].isoformat()},
        )


async def for_post(post_id: int) -> dict | None:
    return await Ride.select().where(Ride.post == post_id).first()


async def _lock(ride_id: int) -> dict:
    """The ride held (app.db.rows.held_row), with its post's status (hidden or closed: no seats)."""
    from app.posts.tables import Post

    ride = await held_row(Ride, ride_id)
    ride["post_status"] = (await Post.select(Post.status).where(Post.id == ride["post"]).first())["status"]
    return ride


async def take_seat(ride_id: int, user_id: int, now: datetime | None = None) -> Taken:
    from app.i18n import gettext

    now = now or datetime.now(timezone.utc)
    async with Ride._meta.db.transaction():
        ride = await _lock(ride_id)
        if ride["post_status"] not in ("open",):
            raise RideClosed(gettext("Ce covoiturage n'est plus proposé."))
        if ride["departs_at"] <= now:
            raise RideClosed(gettext("Ce covoiturage est déjà parti."))
        if await RideSeat.exists().where((RideSeat.ride == ride_id) & (RideSeat.user == user_id)):
            return Taken(changed=False)
        given = (
            await Ride.update({Ride.seats_taken: Ride.seats_taken + 1})
            .where((Ride.id == ride_id) & (Ride.seats_taken < Ride.seats))
            .returning(Ride.id)
        )
        if not given:
            raise RideClosed(gettext("Ce covoiturage est complet."))
        await RideSeat.insert(RideSeat(ride=ride_id, user=user_id, created_at=now))
    return Taken(changed=True)


async def give_back(ride_id: int, user_id: int) -> bool:
    """Frees the seat; False when the neighbour had none."""
    async with Ride._meta.db.transaction():
        await _lock(ride_id)
        gone = (
            await RideSeat.delete()
            .where((RideSeat.ride == ride_id) & (RideSeat.user == user_id))
            .returning(RideSeat.id)
        )
        if gone:
            await Ride.update({Ride.seats_taken: Ride.seats_taken - 1}).where(Ride.id == ride_id)
    return bool(gone)


async def has_seat(ride_id: int, user_id: int) -> bool:
    return await RideSeat.exists().where((RideSeat.ride == ride_id) & (RideSeat.user == user_id))


async def riders(ride_id: int) -> list[dict]:
    """Who rides, first come first; at most 8 (the seats), one statement."""
    return (
        await RideSeat.select(RideSeat.user, RideSeat.user.first_name, RideSeat.user.last_name)
        .where(RideSeat.ride == ride_id)
        .order_by(RideSeat.id)
    )


async def riders_to_come(post_id: int, now: datetime) -> list[int]:
    """The riders of this post's ride if it has not left yet: those to tell when the post goes."""
    rows = await RideSeat.select(RideSeat.user).where(
        (RideSeat.ride.post == post_id) & (RideSeat.ride.departs_at > now)
    )
    return [r["user"] for r in rows]


async def offered_by(user_id: int) -> list[dict]:
    """The rides a neighbour offers, with their trip (the RGPD export)."""
    return await Ride.select(
        Ride.post, Ride.post.title, Ride.origin, Ride.destination, Ride.departs_at, Ride.returns_at, Ride.seats,
        Ride.seats_taken,
    ).where(Ride.post.author == user_id).order_by(Ride.id)  # fmt: skip


async def seats_of(user_id: int) -> list[dict]:
    """The seats a neighbour took, with the trip (the RGPD export)."""
    return await RideSeat.select(
        RideSeat.ride.post, RideSeat.ride.origin, RideSeat.ride.destination, RideSeat.ride.departs_at,
        RideSeat.created_at,
    ).where(RideSeat.user == user_id).order_by(RideSeat.id)  # fmt: skip


async def end_rides_of(user_id: int) -> None:
    """Before an account goes: its seats go back (each driver told), and the
    riders of its rides still to come are told the ride will not happen."""
    from app.notify.queries import notify

    seats = await RideSeat.select(
        RideSeat.ride, RideSeat.ride.post, RideSeat.ride.post.title, RideSeat.ride.post.author
    ).where(RideSeat.user == user_id)
    for seat in seats:
        await give_back(seat["ride"], user_id)
        # No name: notifications naming the person go with the account.
        await notify(
            [seat["ride.post.author"]] if seat["ride.post.author"] else [],
            "ride",
            url=f"/posts/{seat['ride.post']}",
            params={"what": "seat_freed", "title": seat["ride.post.title"]},
        )
    offered = await Ride.select(Ride.id, Ride.post, Ride.post.title).where(
        (Ride.post.author == user_id) & (Ride.departs_at > datetime.now(timezone.utc))
    )
    for ride in offered:
        await notify(
            [r["user"] for r in await riders(ride["id"])],
            "ride",
            url=f"/posts/{ride['post']}",
            params={"what": "cancelled", "title": ride["post.title"]},
        )
