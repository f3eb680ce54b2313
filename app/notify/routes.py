"""In-app notifications: the list, the unread count in the header, marking read."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from app.accounts.guards import requires_login
from app.forms import Form
from app.notify import queries
from app.web import render, see_other, wants_fragment


class NotificationController(Controller):
    guards = [requires_login]

    @get("/notifications")
    async def index(self, request: Request) -> Response:
        before = request.query_params.get("before") or ""
        rows = await queries.latest(request.user.id, before_id=int(before) if before.isdigit() else None, limit=31)
        older = rows[29]["id"] if len(rows) > 30 else None
        return render(request, "notify/notifications.html", {"notifications": rows[:30], "older": older,
                                                             "unread": await queries.unread_count(request.user.id)})

    @get("/notifications/badge")
    async def badge(self, request: Request) -> Response:
        # Polled by the header every minute: one indexed count, a few bytes.
        return render(request, "notify/_badge.html", {"unread": await queries.unread_count(request.user.id)},
                      headers={"Cache-Control": "private, no-store"})

    @post("/notifications/read")
    async def read(self, request: Request) -> Response:
        form = Form(await request.form())
        one = form["id"]
        await queries.mark_read(request.user.id, int(one) if one.isdigit() else None)
        if wants_fragment(request):
            return render(request, "notify/_badge.html", {"unread": await queries.unread_count(request.user.id)})
        return see_other("/notifications")


ROUTES = [NotificationController]
