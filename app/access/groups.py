"""Who may see, join and run an interest group.

A group of a quartier exists for that quartier and its quartiers voisins
(and for the quartier's moderators); for everyone else it does not (404).
Its posts are its members' only: the quartier's main feed never lists them
(`visible_posts_clause`), and `access.posts` lets a member, an admin of the
group or a moderator of the quartier read one. A group's admins moderate its
posts as the quartier's moderators do.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.access.moderators import can_moderate
from app.access.nearby import are_nearby
from app.access.viewers import NotFound, as_viewer
from app.groups.tables import GroupMember

ADMIN, MEMBER, PENDING = "admin", "member", "pending"


@dataclass(frozen=True)
class GroupRights:
    """What a viewer who may see the group may do there."""

    role: str | None  # admin, member, pending, or None
    moderate: bool  # hide its posts: its admins and the quartier's moderators

    @property
    def member(self) -> bool:
        return self.role in (ADMIN, MEMBER)

    @property
    def admin(self) -> bool:
        return self.role == ADMIN

    @property
    def may_join(self) -> bool:
        return self.role is None


async def group_role(viewer, group_id: int | None) -> str | None:
    viewer = as_viewer(viewer)
    if not group_id or viewer.id is None:
        return None
    found = (
        await GroupMember.select(GroupMember.role)
        .where((GroupMember.group == group_id) & (GroupMember.member == viewer.id))
        .first()
    )
    return found["role"] if found else None


async def group_rights(viewer, group: dict | None) -> GroupRights | None:
    """None when the group must not be known to the viewer."""
    if group is None or group.get("status") == "closed":
        return None
    viewer = as_viewer(viewer)
    hood = group["neighbourhood"]
    role = await group_role(viewer, group["id"])
    moderator = await can_moderate(viewer, hood)
    # A member who has since moved away keeps the group they belong to.
    reachable = viewer.neighbourhood == hood or await are_nearby(viewer.neighbourhood, hood)
    if not (reachable or moderator or role in (ADMIN, MEMBER)):
        return None
    return GroupRights(role=role, moderate=moderator or role == ADMIN)


async def ensure_group(viewer, group: dict | None) -> GroupRights:
    rights = await group_rights(viewer, group)
    if rights is None:
        raise NotFound()
    return rights


async def ensure_group_admin(viewer, group: dict | None) -> GroupRights:
    """Only a group's admins answer its requests and name its admins; to
    anyone else who sees the group these pages do not exist."""
    rights = await ensure_group(viewer, group)
    if not rights.admin:
        raise NotFound()
    return rights
