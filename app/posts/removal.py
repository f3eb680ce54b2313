"""A post taken down by its author, and those who counted on it told.

Apart from `posts.queries`, which rides and events build on to create their
posts: reading their riders and signups from there would tie the three in a
circle.
"""

from __future__ import annotations

from datetime import datetime, timezone

from app.events import queries as events
from app.notify.queries import notify
from app.posts import queries
from app.posts.tables import Post
from app.rides import queries as rides


async def delete_post(post: dict, *, actor_id: int) -> None:
    """Deletes the post (`queries.delete_post`; `post` as `own_post` read it)
    and, in the same transaction, tells those who counted on it that it will
    not happen: the riders of a ride yet to leave, everyone going or waiting
    for an event or a date of it yet to come (their seats and signups go with
    the post)."""
    now = datetime.now(timezone.utc)
    async with Post._meta.db.transaction():
        # The post is gone: the notice leads to where others like it are.
        if post["kind"] == "ride":
            counting_on, url = await rides.riders_to_come(post["id"], now), "/feed?kind=ride"
        elif post["kind"] == "event":
            counting_on, url = await events.expecting(post["id"], now), "/events"
        else:
            counting_on, url = [], ""
        await queries.delete_post(post["id"])
        if counting_on:
            params = {"what": "deleted", "title": post["title"]}
            await notify(counting_on, post["kind"], url=url, actor_id=actor_id, params=params)
