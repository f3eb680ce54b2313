"""The ride's panel on its post's page: the trip, the seats left, the button
to take or give back a seat, and for the driver who rides. The post page
(app.posts.page) asks for it; the seat routes render it alone for htmx."""

from __future__ import annotations

from datetime import datetime, timezone

from app.access import is_author
from app.accounts.tables import User
from app.rides import queries


async def panel_for_post(post: dict, viewer: User, error: str = "") -> dict | None:
    """The panel's context, or None when the post is no ride."""
    if post["kind"] != "ride":
        return None
    ride = await queries.for_post(post["id"])
    if ride is None:
        return None
    return await panel(ride, post, viewer, error)


async def panel(ride: dict, post: dict, viewer: User, error: str = "") -> dict:
    driver = is_author(viewer, post)
    return {
        "ride": ride,
        "ride_post": post,
        "seats_left": max(0, ride["seats"] - ride["seats_taken"]),
        "ride_past": ride["departs_at"] <= datetime.now(timezone.utc),
        "ride_open": post["status"] == "open",
        "my_seat": not driver and await queries.has_seat(ride["id"], viewer.id),
        # Only the driver sees who rides: a neighbour's trips are theirs.
        "riders": await queries.riders(ride["id"]) if driver else [],
        "ride_error": error,
        "driver": driver,
    }
