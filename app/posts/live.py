"""An open post's new replies, as they are written (app.live)."""

from __future__ import annotations

from litestar import Request, Response, get

from app import live
from app.access import blocked_ids, post_rights, requires_member
from app.accounts.sessions import still_signed_in
from app.posts import queries
from app.posts.page import visible_post
from app.web import render_fragment


@get("/posts/{post_id:int}/stream", guards=[requires_member], opt=live.STREAM_OPT)
async def live_replies(request: Request, post_id: int) -> Response:
    """For whoever may see the post, as its page; each news asks again (the
    post hidden or deleted meanwhile ends the stream), and nobody is shown
    the replies of someone they blocked or who blocked them."""
    await visible_post(request, post_id)

    async def news(me, after: int) -> tuple[str, int] | None:
        found = await queries.post_by_id(post_id)
        rights = await post_rights(me, found)
        if rights is None:
            return None
        blocked = await blocked_ids(me)
        replies = await queries.replies_of(post_id, blocked, 50, after=after)
        if not replies:
            return "", after
        context = {
            "post": found,
            "replies": replies,
            "count": await queries.count_replies(post_id, blocked),
            "moderator": rights.moderate,
            "me": me,
        }
        return render_fragment(request, "posts/_live.html", context), replies[-1]["id"]

    return live.stream(request, queries.live_topic(post_id), lambda: still_signed_in(request), news)
