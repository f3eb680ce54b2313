"""Voting on a discussion's poll, and the poll's panel for htmx."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException

from app.access import can_moderate, requires_member
from app.forms import Form
from app.i18n import _
from app.polls import queries
from app.polls.fields import MAX_OPTIONS
from app.polls.panel import panel
from app.posts.page import render_post, visible_post
from app.web import limit, parse_id, render, see_other, wants_fragment


class PollController(Controller):
    guards = [requires_member]

    @get("/posts/{post_id:int}/poll")
    async def show(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        await _poll_of(found)
        return await _answer(request, found)

    @post("/posts/{post_id:int}/vote")
    async def vote(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        poll = await _poll_of(found)
        await limit(f"vote:{request.user.id}", 120, 3600)
        # Bounded whatever is sent: a poll has six options at most.
        raw = (await request.form()).getall("option", [])[: MAX_OPTIONS + 1]
        chosen = {parse_id(value) for value in raw} - {None}
        offered = {o["id"] for o in await queries.options_of(poll["id"])}
        if found["status"] == "hidden":
            error = _("Cette discussion est masquée par la modération : le sondage est fermé.")
        elif not chosen:
            error = _("Choisissez une option.")
        elif not chosen <= offered or (len(chosen) > 1 and not poll["multiple"]):
            error = _("Choisissez une des options proposées.")
        else:
            error = ""
        if not error:
            try:
                await queries.vote(poll["id"], request.user.id, chosen)
            except queries.PollClosed as closed:
                error = str(closed)
        if error:
            return await _answer(request, found, error, status_code=422)
        if wants_fragment(request):
            return await _answer(request, found)
        return see_other(f"/posts/{post_id}#poll")


async def _poll_of(found: dict) -> dict:
    poll = await queries.for_post(found["id"]) if found["kind"] == "discussion" else None
    if poll is None:
        raise NotFoundException()
    return poll


async def _answer(request: Request, found: dict, error: str = "", status_code: int = 200) -> Response:
    if wants_fragment(request):
        poll = await queries.for_post(found["id"])
        context = await panel(poll, found, request.user, error)
        return render(request, "polls/_panel.html", context, status_code=status_code)
    if error:
        moderator = await can_moderate(request.user, found["neighbourhood"])
        return await render_post(request, found, moderator, Form(), status_code, poll_error=error)
    return see_other(f"/posts/{found['id']}#poll")


ROUTES = [PollController]
