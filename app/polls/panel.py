"""The poll's panel on its discussion's page: the options, the vote form, and
the results once one may see them. The post page (app.posts.page) asks for
it; the vote routes render it alone for htmx."""

from __future__ import annotations

from datetime import datetime, timezone

from app.access import is_author
from app.accounts.tables import User
from app.polls import queries


async def panel_for_post(post: dict, viewer: User, error: str = "") -> dict | None:
    """The panel's context, or None when the post carries no poll."""
    if post["kind"] != "discussion":
        return None
    poll = await queries.for_post(post["id"])
    if poll is None:
        return None
    return await panel(poll, post, viewer, error)


async def panel(poll: dict, post: dict, viewer: User, error: str = "") -> dict:
    closed = poll["closes_at"] <= datetime.now(timezone.utc) or post["status"] == "hidden"
    mine = await queries.my_choices(poll["id"], viewer.id)
    options = await queries.options_of(poll["id"])
    voters = poll["voter_count"]
    for option in options:
        # Of the people who voted: with several choices the shares add up to more than 100.
        option["percent"] = round(100 * option["vote_count"] / voters) if voters else 0
        option["chosen"] = option["id"] in mine
    return {
        "poll": poll,
        "poll_post": post,
        "poll_options": options,
        "poll_voted": bool(mine),
        "poll_closed": closed,
        "poll_results": bool(mine) or closed or is_author(viewer, post),
        "poll_error": error,
    }
