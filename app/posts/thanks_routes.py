"""Thanking who helped: the author of a give, lend or help post picks who
helped among the people involved, or a neighbour by name; the post closes."""

from __future__ import annotations

from litestar import Request, Response, post

from app.access import NotFound, blocked_ids, can_moderate, requires_member
from app.forms import Form
from app.i18n import _
from app.notify.queries import notify
from app.posts import thanks
from app.posts.kinds import THANKED_KINDS, display_name
from app.posts.page import own_post, render_post
from app.web import limit, parse_id, see_other

NAME_MAX = 120


async def _chosen_helpers(request: Request, found: dict, form: Form, picked: list) -> list[int]:
    """The people the form names, each checked against the post and the
    quartier; a message at the field for what does not fit."""
    me = request.user
    blocked = await blocked_ids(me)
    involved = {c["id"] for c in await thanks.candidates(found, blocked)}
    chosen = [parse_id(v) for v in picked]
    helpers = [h for h in chosen if h in involved]
    if len(helpers) != len(chosen):
        form.error("helper", _("Choisissez parmi les personnes proposées."))
    name = form.text("name", max_length=NAME_MAX, required=False)
    if name:
        named = [
            p for p in await thanks.neighbours_named(found["neighbourhood"], name, me.id) if p["id"] not in blocked
        ]
        if not named:
            form.error("name", _("Aucun voisin du quartier ne porte ce nom."))
        elif len(named) > 1:
            form.error("name", _("Plusieurs voisins portent ce nom : ajoutez le nom de famille."))
        else:
            helpers.append(named[0]["id"])
    if not helpers and not form.errors:
        form.error("helper", _("Choisissez qui vous a aidé, ou écrivez son nom."))
    form.values["helper_ids"] = {str(h) for h in chosen}
    return helpers


@post("/posts/{post_id:int}/thanks", guards=[requires_member])
async def thank(request: Request, post_id: int) -> Response:
    found = await own_post(request, post_id)
    if found["kind"] not in THANKED_KINDS:
        raise NotFound()
    await limit(f"thanks:{request.user.id}", 30, 3600)
    data = await request.form()
    form = Form(data)
    helpers = await _chosen_helpers(request, found, form, data.getall("helper", []))
    if form.errors:
        return await render_post(request, found, await can_moderate(request.user, found["neighbourhood"]), form, 422)
    me = request.user
    newly = await thanks.thank(found, me.id, helpers)
    await notify(
        newly,
        "thanks",
        url=f"/posts/{post_id}",
        actor_id=me.id,
        params={"who": display_name(me.first_name, me.last_name), "title": found["title"]},
    )
    return see_other(f"/posts/{post_id}#thanks")


ROUTES = [thank]
