"""Who may see and change a post. The rule for one post and the condition the
lists (feed, search, profiles) add to their SQL sit side by side here: change
one, change the other (tests/test_isolation_posts.py holds them to agreeing)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.access.blocks import blocked_ids
from app.access.groups import ADMIN, MEMBER, group_role
from app.access.moderators import can_moderate
from app.access.nearby import reads_from_nearby
from app.access.viewers import NotFound, as_viewer

HIDDEN = ("hidden",)
VISIBLE = ("open", "reserved", "done", "lent", "closed")


@dataclass(frozen=True)
class PostRights:
    """What a viewer who may see the post may also do with it."""

    moderate: bool
    edit: bool
    # A reader from a quartier voisin: the post, its photos, replies and
    # signups are theirs too; the author's profile and messages are not.
    from_nearby: bool = False


def is_author(viewer, post: dict) -> bool:
    return post.get("author") is not None and post["author"] == as_viewer(viewer).id


def can_edit_post(viewer, post: dict) -> bool:
    """Only its author edits, closes or deletes a post; moderators hide it."""
    return is_author(viewer, post)


def sees_post(
    viewer,
    post: dict,
    *,
    moderator: bool,
    blocked: Collection[int],
    from_nearby: bool = False,
    in_group: bool = False,
) -> bool:
    """The rule itself, for a viewer whose moderation, blocks, quartier voisin
    and membership of the post's group are known (`moderator`: of the quartier,
    or an admin of the post's group)."""
    viewer = as_viewer(viewer)
    if post.get("group"):
        # A group's post exists for its members and those who moderate it only.
        if not (in_group or moderator):
            return False
    # Another quartier's post does not exist for the viewer, unless they
    # moderate that quartier (admins: all), or live in a quartier voisin
    # and the author showed it to the quartiers voisins.
    elif post["neighbourhood"] != viewer.neighbourhood and not (moderator or from_nearby):
        return False
    if post["status"] in HIDDEN and not (is_author(viewer, post) or moderator):
        return False
    return not (post["author"] and post["author"] in blocked)


async def post_rights(viewer, post: dict | None) -> PostRights | None:
    """None when the post must not be known to the viewer."""
    if post is None:
        return None
    viewer = as_viewer(viewer)
    moderator = await can_moderate(viewer, post["neighbourhood"])
    role = await group_role(viewer, post.get("group"))
    # A group's admins moderate its posts as the quartier's moderators do.
    moderator = moderator or role == ADMIN
    from_nearby = (
        not post.get("group")
        and post["neighbourhood"] != viewer.neighbourhood
        and not moderator
        and await reads_from_nearby(viewer, post)
    )
    blocked = await blocked_ids(viewer) if post["author"] else ()
    in_group = role in (ADMIN, MEMBER)
    if not sees_post(viewer, post, moderator=moderator, blocked=blocked, from_nearby=from_nearby, in_group=in_group):
        return None
    return PostRights(moderate=moderator, edit=can_edit_post(viewer, post), from_nearby=from_nearby)


async def can_see_post(viewer, post: dict | None) -> bool:
    return await post_rights(viewer, post) is not None


async def ensure_can_see_post(viewer, post: dict | None) -> PostRights:
    """For every route that shows or acts on a post, its photos included:
    NotFound for a post the viewer must not know of."""
    rights = await post_rights(viewer, post)
    if rights is None:
        raise NotFound()
    return rights


async def ensure_can_edit_post(viewer, post: dict | None) -> PostRights:
    rights = await ensure_can_see_post(viewer, post)
    if not rights.edit:
        raise NotFound()
    return rights


def can_see_reply(viewer, reply: dict, *, moderator: bool) -> bool:
    """A hidden reply's words stay readable to its author and the moderators."""
    mine = reply["author"] is not None and reply["author"] == as_viewer(viewer).id
    return not reply["hidden"] or mine or moderator


def visible_posts_clause(viewer_id: int, blocked: list[int], args: list) -> str:
    """`sees_post` for a list already limited to the viewer's quartier, as SQL
    on `post p`: hidden posts stay visible to their author (with the reason);
    blocked people's posts vanish for the one who blocked them; a group's
    posts are read on the group's page only (its own query, its own rule)."""
    return ' AND p."group" IS NULL' + _shown_clause(viewer_id, blocked, args)


def group_posts_clause(viewer_id: int, blocked: list[int], args: list) -> str:
    """`sees_post` for a group's own list, its members' (access.groups says who):
    the same hidden and blocked rules as the feed."""
    return _shown_clause(viewer_id, blocked, args)


def _shown_clause(viewer_id: int, blocked: list[int], args: list) -> str:
    clause = f" AND (p.status IN ({', '.join('{}' for _ in VISIBLE)}) OR p.author = {{}})"
    args.extend([*VISIBLE, viewer_id])
    if blocked:
        clause += f" AND (p.author IS NULL OR p.author NOT IN ({', '.join('{}' for _ in blocked)}))"
        args.extend(blocked)
    return clause
