"""Who may do what with a post: the one place the rules live."""

from __future__ import annotations

from app.accounts.tables import User
from app.moderation.tables import ModeratorAssignment


async def can_moderate(user: User | None, neighbourhood_id: int | None) -> bool:
    """Admins everywhere; moderators only inside the neighbourhoods they were given."""
    if user is None or neighbourhood_id is None:
        return False
    if user.role == "admin":
        return True
    if user.role != "moderator":
        return False
    return await ModeratorAssignment.exists().where(
        (ModeratorAssignment.user == user.id) & (ModeratorAssignment.neighbourhood == neighbourhood_id)
    )


def is_author(user: User, post: dict) -> bool:
    return post.get("author") is not None and post["author"] == user.id


def can_see(user: User, post: dict, moderator: bool) -> bool:
    # The viewer's own neighbourhood: another quartier's post does not exist
    # for them (404), unless they moderate that quartier (admins: all).
    if post["neighbourhood"] != user.neighbourhood and not moderator:
        return False
    if post["status"] in ("hidden", "removed"):
        return is_author(user, post) or moderator
    return True
