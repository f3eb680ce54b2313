"""Blocking: whoever one blocks disappears from one's feed, threads and inbox.
The blocks themselves are written by app.neighbours.blocks."""

from __future__ import annotations

from app.accounts.tables import Block


async def blocked_ids(user_id: int | None) -> list[int]:
    """Everyone hidden from this user's eyes: those they blocked and those who
    blocked them (so a blocked person cannot keep writing under their posts
    unseen). Indexed by the unique (blocker, blocked) pair."""
    if user_id is None:
        return []
    rows = await Block.raw(
        "SELECT blocked AS other FROM block WHERE blocker = {} UNION SELECT blocker FROM block WHERE blocked = {}",
        user_id,
        user_id,
    )
    return sorted(r["other"] for r in rows)


async def has_blocked(blocker_id: int | None, blocked_id: int) -> bool:
    return await Block.exists().where((Block.blocker == blocker_id) & (Block.blocked == blocked_id))
