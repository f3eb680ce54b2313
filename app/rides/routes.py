"""Taking a seat in a ride and giving it back: a plain form (303 to the
post) or, with htmx, the ride's panel alone."""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.exceptions import NotFoundException

from app.access import can_moderate, requires_member
from app.forms import Form
from app.i18n import _
from app.notify.queries import notify
from app.posts.kinds import display_name
from app.posts.page import render_post, visible_post
from app.rides import queries
from app.rides.panel import panel
from app.web import limit, render, see_other, wants_fragment


class RideController(Controller):
    guards = [requires_member]

    @post("/posts/{post_id:int}/seat")
    async def take(self, request: Request, post_id: int) -> Response:
        found, ride = await _ride(request, post_id)
        await limit(f"seat:{request.user.id}", 60, 3600)
        try:
            if found["author"] == request.user.id:
                raise queries.RideClosed(_("Vous conduisez : la place du conducteur est déjà la vôtre."))
            taken = await queries.take_seat(ride["id"], request.user.id)
        except queries.RideClosed as closed:
            return await _answer(request, found, str(closed), status_code=422)
        if taken.changed:
            await _tell_driver(request, found, "taken")
        return await _answer(request, found)

    @post("/posts/{post_id:int}/seat/give-back")
    async def give_back(self, request: Request, post_id: int) -> Response:
        found, ride = await _ride(request, post_id)
        if await queries.give_back(ride["id"], request.user.id):
            await _tell_driver(request, found, "given_back")
        return await _answer(request, found)


async def _ride(request: Request, post_id: int) -> tuple[dict, dict]:
    found, _moderator = await visible_post(request, post_id)
    ride = await queries.for_post(post_id)
    if ride is None:
        raise NotFoundException()
    return found, ride


async def _tell_driver(request: Request, found: dict, what: str) -> None:
    if found["author"]:
        await notify(
            [found["author"]],
            "ride",
            url=f"/posts/{found['id']}",
            actor_id=request.user.id,
            params={
                "what": what,
                "who": display_name(request.user.first_name, request.user.last_name),
                "title": found["title"],
            },
        )


async def _answer(request: Request, found: dict, error: str = "", status_code: int = 200) -> Response:
    if wants_fragment(request):
        context = await panel(await queries.for_post(found["id"]), found, request.user, error)
        return render(request, "rides/_panel.html", context, status_code=status_code)
    if error:
        moderator = await can_moderate(request.user, found["neighbourhood"])
        return await render_post(request, found, moderator, Form(), status_code, ride_error=error)
    return see_other(f"/posts/{found['id']}#ride-panel-{found['id']}")


ROUTES = [RideController]
