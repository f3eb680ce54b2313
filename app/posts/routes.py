"""The neighbourhood feed."""

from __future__ import annotations

from litestar import Controller, Request, Response, get

from app.accounts.guards import requires_member
from app.neighbourhoods import queries as hoods
from app.posts import queries
from app.web import render


class FeedController(Controller):
    @get("/feed", guards=[requires_member])
    async def feed(self, request: Request) -> Response:
        hood = await hoods.by_id(request.user.neighbourhood)
        if hood.status == "forming":
            return render(request, "neighbourhoods/forming.html", {"hood": hood, "threshold": hoods.OPENING_THRESHOLD})
        posts = await queries.latest(hood.id)
        return render(request, "posts/feed.html", {"hood": hood, "posts": posts})


ROUTES = [FeedController]
