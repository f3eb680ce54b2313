"""Saving a post to find it again, and /saved, the list of saved posts."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import blocked_ids, nearby_ids, requires_member
from app.forms import Form
from app.posts import saved, view
from app.posts.page import visible_post
from app.web import parse_id, render, see_other, wants_fragment


@post("/posts/{post_id:int}/save", guards=[requires_member])
async def save(request: Request, post_id: int) -> Response:
    """Saves (saved=1) or forgets (saved=0) the post: said, not toggled, so a
    double click or a replayed form leaves it as the button showed."""
    found, _moderator = await visible_post(request, post_id)
    keep = Form(await request.form())["saved"] != "0"
    if keep:
        await saved.save(request.user.id, post_id)
    else:
        await saved.unsave(request.user.id, post_id)
    if wants_fragment(request):
        return render(request, "posts/_save_button.html", {"post": found, "saved": keep})
    return see_other(f"/posts/{post_id}")


@get("/saved", guards=[requires_member])
async def saved_list(request: Request) -> Response:
    before = parse_id(request.query_params.get("before"))
    me = request.user
    posts, cursor = await saved.saved_page(
        me, await blocked_ids(me), nearby=await nearby_ids(me.neighbourhood), before=before
    )
    await saved.annotate(request.user.id, posts, all_saved=True)
    context = {"posts": view.decorate(posts), "next_url": f"/saved?before={cursor}" if cursor else None}
    return render(request, "posts/saved.html", context, fragment="posts/_saved_page.html")


ROUTES = [save, saved_list]
