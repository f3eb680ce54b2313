"""Blocking: whoever one blocks disappears from one's feed, threads and inbox.
The blocks themselves are written by app.neighbours.blocks."""

from __future__ import annotations

from typing import Any

from app.accounts.tables import Block, User
from app.settings import get_settings

_BLOCKED = "SELECT blocked AS other FROM block WHERE blocker = {0} UNION SELECT blocker FROM block WHERE blocked = {0}"


async def blocked_ids(viewer: User | int | None) -> list[int]:
    """Everyone hidden from this user's eyes: those they blocked and those who
    blocked them (so a blocked person cannot keep writing under their posts
    unseen). Indexed by the unique (blocker, blocked) pair.

    The signed-in user of a request carries the list already: the session
    lookup reads it in the same statement (`blocked_sql`), so the pages
    every request shows do not pay a query for it."""
    if viewer is None:
        return []
    known = getattr(viewer, "blocked_ids", None)
    if known is not None:
        return known
    user_id = viewer if isinstance(viewer, int) else viewer.id
    if user_id is None:
        return []
    rows = await Block.raw(_BLOCKED.format("{}"), user_id, user_id)
    return sorted(r["other"] for r in rows)


def blocked_sql(user_column: str) -> str:
    """The list as a scalar subquery (ids joined by commas, or NULL), for SQL
    that already reads the user's row."""
    aggregate = "string_agg(other::text, ',')" if get_settings().is_postgres else "group_concat(other)"
    return f"(SELECT {aggregate} FROM ({_BLOCKED.format(user_column)}) blocked_people)"


def parse_blocked(value: Any) -> list[int]:
    return sorted(int(part) for part in value.split(",")) if value else []


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
