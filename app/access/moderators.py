"""Who moderates where: admins everywhere, moderators in the quartiers they
were given, everyone else nowhere. Outside their quartiers a moderator is a
neighbour like any other."""

from __future__ import annotations

from app.access.viewers import NotFound, as_viewer
from app.accounts.tables import ModeratorAssignment


async def can_moderate(viewer, neighbourhood_id: int | None) -> bool:
    viewer = as_viewer(viewer)
    if neighbourhood_id is None or viewer.role not in ("moderator", "admin"):
        return False
    if viewer.role == "admin":
        return True
    return await ModeratorAssignment.exists().where(
        (ModeratorAssignment.user == viewer.id) & (ModeratorAssignment.neighbourhood == neighbourhood_id)
    )


async def moderated_neighbourhoods(viewer) -> list[int] | None:
    """None for admins (everywhere); the quartiers given to a moderator; [] for members."""
    viewer = as_viewer(viewer)
    if viewer.role == "admin":
        return None
    if viewer.role != "moderator":
        return []
    return [
        r["neighbourhood"]
        for r in await ModeratorAssignment.select(ModeratorAssignment.neighbourhood).where(
            ModeratorAssignment.user == viewer.id
        )
    ]


async def moderation_reach(viewer) -> list[int] | None:
    """What the moderation pages show this viewer (None: every quartier); the
    pages do not exist for someone who moderates nothing."""
    reach = await moderated_neighbourhoods(viewer)
    if reach == []:
        raise NotFound()
    return reach


def lives_in(viewer, neighbourhood_id: int | None) -> bool:
    viewer = as_viewer(viewer)
    return viewer.neighbourhood is not None and viewer.neighbourhood == neighbourhood_id
