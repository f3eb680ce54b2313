"""Named queries about posts."""

from __future__ import annotations

from app.posts.tables import Post


async def latest(neighbourhood_id: int, limit: int = 20) -> list[dict]:
    return await (
        Post.select(Post.id, Post.kind, Post.title, Post.body, Post.status, Post.created_at,
                    Post.author.first_name, Post.author.last_name)
        .where((Post.neighbourhood == neighbourhood_id) & Post.status.is_in(["open", "reserved", "done"]))
        .order_by(Post.created_at, ascending=False)
        .order_by(Post.id, ascending=False)
        .limit(limit)
    )
