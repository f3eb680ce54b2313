"""The opening of a quartier's feed as one reader sees it: its pinned posts,
its newest ones and what each card says for this reader (thanks, saved).
Everybody opens the app there, again and again, while the quartier rarely
changes between two looks: each process remembers the page per reader
(app.db.memory.FEED_PAGES) until anything it was read from may have changed,
through any process, and then reads it anew."""

from __future__ import annotations

from app.db.memory import FEED_PAGES
from app.posts import queries, saved
from app.posts.tables import Post

Page = tuple[list[dict], list[dict], int | None]


async def first_page(neighbourhood_id: int, viewer_id: int, blocked: list[int]) -> Page:
    """Pinned posts, the newest others, the next page's cursor: cards whose
    rows the caller may change (each call gets its own)."""

    async def load() -> Page:
        pinned, posts, next_cursor = await queries.first_page(neighbourhood_id, viewer_id, blocked)
        pinned_ids = {p["id"] for p in pinned}
        posts = [p for p in posts if p["id"] not in pinned_ids]
        await saved.annotate(viewer_id, [*pinned, *posts])
        return pinned, posts, next_cursor

    key = (neighbourhood_id, viewer_id, tuple(blocked))
    # What is remembered is shared: each call decorates its own copy.
    return _copy(await FEED_PAGES.read(Post._meta.db, key, load, group_of=lambda _page: neighbourhood_id))


def _copy(page: Page) -> Page:
    pinned, posts, next_cursor = page
    return [dict(p) for p in pinned], [dict(p) for p in posts], next_cursor
