"""The event's panel on its post's page: when, where, who comes, and the
signup button. The post page (app.posts.page) asks for it; the signup routes
render it alone for htmx."""

from __future__ import annotations

from datetime import datetime, timezone

from app.access import is_author
from app.accounts.tables import User
from app.events import queries


async def panel_for_post(post: dict, viewer: User, error: str = "") -> dict | None:
    """The panel's context, or None when the post is no event."""
    if post["kind"] != "event":
        return None
    event = await queries.for_post(post["id"])
    if event is None:
        return None
    return await panel(event, post, viewer, error)


async def panel(event: dict, post: dict, viewer: User, error: str = "") -> dict:
    now = datetime.now(timezone.utc)
    left = None if event["capacity"] is None else max(0, event["capacity"] - event["going_count"])
    return {
        "event": event,
        "event_post": post,
        "my_signup": await queries.my_signup(event["id"], viewer.id),
        "attendees": await queries.attendees(event["id"]),
        "places_left": left,
        "event_closed": event["cancelled_at"] is not None or event["starts_at"] <= now,
        "event_error": error,
        "organiser": is_author(viewer, post),
    }
