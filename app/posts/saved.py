"""Saved posts: a neighbour keeps a post to find it again in /saved.

The list shows only what its reader may still see, by the same rule as the
feed (`visible_posts_clause`) and limited to their quartier: a post hidden by
moderation, deleted (its saves go with it), of a quartier they left, or by
someone blocked disappears from it. Read by the ("user", id) index
`saved_post_list_idx`, newest saved first.
"""

from __future__ import annotations

from piccolo.querystring import QueryString

from app.access import visible_posts_clause
from app.db.keyset import Keyset
from app.db.rows import rows
from app.posts import thanks
from app.posts.queries import PAGE, POST_COLUMNS, card_page
from app.posts.tables import SavedPost

NEWEST_SAVED_FIRST = Keyset("s.id", descending=True, keys=("saved_id",))


async def save(user_id: int, post_id: int) -> None:
    # Two clicks at once: the unique index keeps one row, the second does nothing.
    await SavedPost.insert(SavedPost(user=user_id, post=post_id)).on_conflict(action="DO NOTHING")


async def unsave(user_id: int, post_id: int) -> None:
    await SavedPost.delete().where((SavedPost.user == user_id) & (SavedPost.post == post_id))


async def is_saved(user_id: int, post_id: int) -> bool:
    return await SavedPost.exists().where((SavedPost.user == user_id) & (SavedPost.post == post_id))


async def saved_among(user_id: int, post_ids: list[int]) -> set[int]:
    """Which of a page's posts the reader saved: one query per page (saved_post_once_idx)."""
    if not post_ids:
        return set()
    found = await rows(
        SavedPost.raw(
            f'SELECT post FROM saved_post WHERE "user" = {{}} AND post IN ({", ".join("{}" for _ in post_ids)})',
            user_id,
            *post_ids,
        )
    )
    return {r["post"] for r in found}


async def saved_page(
    viewer, blocked: list[int], *, nearby: list[int] = (), before: int | None = None, limit: int = PAGE
) -> tuple[list[dict], int | None]:
    """`nearby`: the reader's quartiers voisins, whose posts shown to them stay in the list."""
    args: list = [viewer.id, viewer.neighbourhood]
    where_quartier = "p.neighbourhood = {}"
    if nearby:
        where_quartier = f"({where_quartier} OR (p.nearby AND p.neighbourhood IN ({', '.join('{}' for _ in nearby)})))"
        args.extend(nearby)
    sql = (
        f"SELECT s.id AS saved_id, {POST_COLUMNS} FROM saved_post s JOIN post p ON p.id = s.post "
        f'WHERE s."user" = {{}} AND {where_quartier}'
    )
    sql += visible_posts_clause(viewer.id, blocked, args)
    return await card_page(QueryString(sql, *args), before, limit, keyset=NEWEST_SAVED_FIRST, order="p.saved_id DESC")


async def saved_of(user_id: int) -> list[dict]:
    """For the RGPD export."""
    return await SavedPost.select(SavedPost.post, SavedPost.created_at).where(SavedPost.user == user_id)


async def annotate(viewer_id: int, posts: list[dict], *, all_saved: bool = False) -> None:
    """What a list of cards adds for its reader: whom each post thanks (one
    query, for the posts whose row says they have thanks) and whether the
    reader saved it (one query)."""
    names = await thanks.thanked_on([p["id"] for p in posts if p.get("has_thanks", True)])
    # A list read with its `saved` column (the feed's first page) needs no query for it.
    unknown = [] if all_saved else [p["id"] for p in posts if p.get("saved") is None]
    kept = await saved_among(viewer_id, unknown) if unknown else set()
    for p in posts:
        # Short on a card: two names, then how many more (the post page says all).
        thanked = names.get(p["id"], [])
        p["thanked"] = ", ".join(thanked[:2]) + (f" +{len(thanked) - 2}" if len(thanked) > 2 else "")
        p["saved"] = all_saved or bool(p.get("saved")) or p["id"] in kept
