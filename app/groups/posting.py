"""Publishing in a group, for the posts' and the events' forms: the group
named by the form's hidden field, and telling its members of what was
published there."""

from __future__ import annotations

from app.access import NotFound, ensure_group
from app.groups import queries
from app.notify.queries import notify
from app.posts.kinds import display_name
from app.web import parse_id


async def group_to_post_in(user, raw: str | None) -> dict | None:
    """The group named by the form (None: the quartier's feed); only its members write there."""
    if not raw:
        return None
    group = await queries.group_by_id(parse_id(raw))
    if not (await ensure_group(user, group)).member:
        raise NotFound()
    return group


async def tell_members(group: dict, author, post_id: int, title: str) -> None:
    """Each member per their preferences (`group_post`: push by default)."""
    await notify(
        await queries.member_ids(group["id"]),
        "group_post",
        url=f"/posts/{post_id}",
        actor_id=author.id,
        params={"who": display_name(author.first_name, author.last_name), "group": group["name"], "title": title},
    )
