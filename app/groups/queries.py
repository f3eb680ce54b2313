"""Named queries about interest groups: the list of a quartier and its
quartiers voisins (keyset by id, the viewer's role joined in: no N+1),
creation, membership and requests, and what erasure does to them."""

from __future__ import annotations

from datetime import datetime, timezone

from app.db.keyset import Keyset, keyset_page
from app.db.rows import rows
from app.groups.tables import GroupMember, InterestGroup
from app.i18n import N_

PAGE = 20
# A short fixed list, so that groups of one kind find each other.
TOPICS = {
    "garden": N_("Jardinage"),
    "parents": N_("Parents et enfants"),
    "sport": N_("Sport"),
    "seniors": N_("Seniors"),
    "culture": N_("Culture et loisirs"),
    "animals": N_("Animaux"),
    "help": N_("Entraide"),
    "other": N_("Autre"),
}
JOINING = {"open": N_("Ouvert"), "request": N_("Sur demande")}
NEWEST_FIRST = Keyset("g.id", descending=True)
OLDEST_FIRST = Keyset("m.id")


async def group_by_id(group_id: int | None) -> dict | None:
    if not group_id:
        return None
    return await InterestGroup.select().where(InterestGroup.id == group_id).first()


async def groups_page(
    neighbourhood_ids: list[int], viewer_id: int, before: int | None
) -> tuple[list[dict], int | None]:
    """Open groups of these quartiers, newest first, with the viewer's role."""
    marks = ", ".join("{}" for _ in neighbourhood_ids)
    query = InterestGroup.raw(
        "SELECT g.id, g.name, g.description, g.topic, g.joining, g.member_count, g.neighbourhood, "
        "h.name AS neighbourhood_name, m.role FROM interest_group g "
        "JOIN neighbourhood h ON h.id = g.neighbourhood "
        'LEFT JOIN group_member m ON m."group" = g.id AND m.member = {} '
        f"WHERE g.neighbourhood IN ({marks}) AND g.status = 'open'",
        viewer_id,
        *neighbourhood_ids,
    )
    found, cursor = await keyset_page(query, NEWEST_FIRST, cursor=before or None, size=PAGE)
    return found, cursor


async def create_group(
    *, creator_id: int, neighbourhood_id: int, name: str, description: str, topic: str, joining: str
) -> int:
    """The group and its creator, its first admin, in one transaction."""
    async with InterestGroup._meta.db.transaction():
        made = await InterestGroup.insert(
            InterestGroup(
                neighbourhood=neighbourhood_id,
                name=name,
                description=description,
                topic=topic,
                joining=joining,
                member_count=1,
            )
        )
        group_id = made[0]["id"]
        await GroupMember.insert(GroupMember(group=group_id, member=creator_id, role="admin"))
    return group_id


async def _recount(group_id: int) -> None:
    await InterestGroup.raw(
        "UPDATE interest_group SET member_count = (SELECT COUNT(*) FROM group_member m "
        "WHERE m.\"group\" = {} AND m.role IN ('admin', 'member')) WHERE id = {}",
        group_id,
        group_id,
    )


async def join(group_id: int, user_id: int, role: str) -> bool:
    """`role`: member (an open group) or pending (a request). False if already there."""
    async with InterestGroup._meta.db.transaction():
        done = await rows(
            GroupMember.raw(
                'INSERT INTO group_member ("group", member, role, created_at) VALUES ({}, {}, {}, {}) '
                'ON CONFLICT ("group", member) DO NOTHING RETURNING id',
                group_id,
                user_id,
                role,
                datetime.now(timezone.utc),
            )
        )
        await _recount(group_id)
    return bool(done)


async def accept(group_id: int, user_id: int) -> bool:
    async with InterestGroup._meta.db.transaction():
        done = await rows(
            GroupMember.raw(
                "UPDATE group_member SET role = 'member' WHERE \"group\" = {} AND member = {} AND role = 'pending' "
                "RETURNING id",
                group_id,
                user_id,
            )
        )
        await _recount(group_id)
    return bool(done)


async def refuse(group_id: int, user_id: int) -> bool:
    done = await rows(
        GroupMember.raw(
            "DELETE FROM group_member WHERE \"group\" = {} AND member = {} AND role = 'pending' RETURNING id",
            group_id,
            user_id,
        )
    )
    return bool(done)


async def name_admin(group_id: int, user_id: int) -> None:
    await GroupMember.update({GroupMember.role: "admin"}).where(
        (GroupMember.group == group_id) & (GroupMember.member == user_id) & (GroupMember.role == "member")
    )


async def leave(group_id: int, user_id: int) -> None:
    """Out of the group; a group left without admin gets its oldest member as
    admin, and a group left empty closes."""
    async with InterestGroup._meta.db.transaction():
        await GroupMember.delete().where((GroupMember.group == group_id) & (GroupMember.member == user_id))
        await _hand_over(group_id)


async def _hand_over(group_id: int) -> None:
    await _recount(group_id)
    admin = await GroupMember.exists().where((GroupMember.group == group_id) & (GroupMember.role == "admin"))
    if admin:
        return
    oldest = (
        await GroupMember.select(GroupMember.id)
        .where((GroupMember.group == group_id) & (GroupMember.role == "member"))
        .order_by(GroupMember.id)
        .first()
    )
    if oldest:
        await GroupMember.update({GroupMember.role: "admin"}).where(GroupMember.id == oldest["id"])
    else:
        # Nobody left to run it: pending requests go with it.
        await GroupMember.delete().where(GroupMember.group == group_id)
        await InterestGroup.update({InterestGroup.status: "closed", InterestGroup.member_count: 0}).where(
            InterestGroup.id == group_id
        )


async def leave_every_group(user_id: int) -> None:
    """Erasure: out of every group, each one handed over or closed."""
    for row in await GroupMember.select(GroupMember.group).where(GroupMember.member == user_id):
        await leave(row["group"], user_id)


async def people(group_id: int, role: str, after: int | None = None, size: int = 50) -> tuple[list[dict], int | None]:
    """A group's admins, members or requests, oldest first, with their names."""
    query = GroupMember.raw(
        "SELECT m.id, m.member, m.role, a.first_name, a.last_name FROM group_member m "
        'JOIN account a ON a.id = m.member WHERE m."group" = {} AND m.role = {}',
        group_id,
        role,
    )
    found, cursor = await keyset_page(query, OLDEST_FIRST, cursor=after or None, size=size)
    return found, cursor


async def person(group_id: int, user_id: int) -> dict | None:
    """A neighbour as the group's admins see them on its lists: their name and
    their role in the group now (None once out of it)."""
    found = await rows(
        GroupMember.raw(
            "SELECT a.first_name, a.last_name, m.role FROM account a "
            'LEFT JOIN group_member m ON m.member = a.id AND m."group" = {} WHERE a.id = {}',
            group_id,
            user_id,
        )
    )
    return found[0] if found else None


async def member_ids(group_id: int) -> list[int]:
    found = await GroupMember.select(GroupMember.member).where(
        (GroupMember.group == group_id) & GroupMember.role.is_in(["admin", "member"])
    )
    return [r["member"] for r in found]


async def admin_ids(group_id: int) -> list[int]:
    found = await GroupMember.select(GroupMember.member).where(
        (GroupMember.group == group_id) & (GroupMember.role == "admin")
    )
    return [r["member"] for r in found]


async def memberships_of(user_id: int) -> list[dict]:
    """The export: each group a person belongs to or asked to join."""
    return await rows(
        GroupMember.raw(
            "SELECT g.id, g.name, g.topic, m.role, m.created_at FROM group_member m "
            'JOIN interest_group g ON g.id = m."group" WHERE m.member = {} ORDER BY m.id',
            user_id,
        )
    )
