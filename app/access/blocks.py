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


async def blocked_among(user_ids: list[int]) -> dict[int, set[int]]:
    """`blocked_ids` of many people at once (a quartier's digest readers): one query."""
    if not user_ids:
        return {}
    rows = await Block.select(Block.blocker, Block.blocked).where(
        Block.blocker.is_in(user_ids) | Block.blocked.is_in(user_ids)
    )
    hidden: dict[int, set[int]] = {}
    for row in rows:
        hidden.setdefault(row["blocker"], set()).add(row["blocked"])
        hidden.setdefault(row["blocked"], set()).add(row["blocker"])
    return hidden


async def has_blocked(blocker_id: int | None, blocked_id: int) -> bool:
    return await Block.exists().where((Block.blocker == blocker_id) & (Block.blocked == blocked_id))
