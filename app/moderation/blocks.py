"""Blocking: whoever one blocks disappears from one's feed, threads and inbox."""

from __future__ import annotations

from app.moderation.tables import Block


async def blocked_ids(user_id: int) -> list[int]:
    """Everyone hidden from this user's eyes: those they blocked and those who
    blocked them (so a blocked person cannot keep writing under their posts
    unseen). Indexed by the unique (blocker, blocked) pair."""
    rows = await Block.raw(
        "SELECT blocked AS other FROM block WHERE blocker = {} UNION SELECT blocker FROM block WHERE blocked = {}",
        user_id, user_id,
    )
    return sorted(r["other"] for r in rows)
