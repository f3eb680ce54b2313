"""Blocking: whoever one blocks disappears from one's feed, threads and inbox."""

from __future__ import annotations

from app.moderation.tables import Block


async def blocked_ids(user_id: int) -> list[int]:
    """Everyone hidden from this user's eyes: those they blocked and those who
    blocked them (so a blocked person cannot keep writing under their posts
    unseen). Indexed by the unique (blocker, blocked) pair."""
    mine = await Block.select(Block.blocked).where(Block.blocker == user_id)
    theirs = await Block.select(Block.blocker).where(Block.blocked == user_id)
    return sorted({r["blocked"] for r in mine} | {r["blocker"] for r in theirs})
