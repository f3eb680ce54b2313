"""Profiles and the "Qui peut m'aider ?" directory.

A profile shows what neighbours need to trust each other (first name and
initial, quartier, skills, open annonces), never the address.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException

from app.access import (
    NotFound,
    can_see_profile,
    has_blocked,
    requires_member,
)
from app.accounts.queries import user_by_id
from app.accounts.tables import User
from app.forms import Form
from app.i18n import _
from app.neighbourhoods import queries as neighbourhoods
from app.neighbours import profile_photos
from app.neighbours.page import profile_context
from app.posts import queries as posts
from app.posts.kinds import SKILLS, skills_of
from app.web import parse_id, render, see_other

BIO_MAX = 500


class ProfileController(Controller):
    guards = [requires_member]

    @get("/users/{user_id:int}")
    async def show(self, request: Request, user_id: int) -> Response:
        me = request.user
        person = await user_by_id(user_id)
        i_blocked = person is not None and await has_blocked(me.id, person.id)
        if not await can_see_profile(me, person, i_blocked=i_blocked):
            raise NotFound()
        return render(request, "neighbours/profile.html", await profile_context(request, person, i_blocked=i_blocked))

    @get("/neighbours")
    async def neighbours(self, request: Request) -> Response:
        me = request.user
        skill = request.query_params.get("skill") or ""
        if skill and skill not in SKILLS:
            raise NotFoundException()
        context = {"skills": SKILLS, "skill": skill, "neighbourhood": await neighbourhoods.by_id(me.neighbourhood)}
        if skill:
            people, next_after = await posts.skill_page(
                me.neighbourhood, skill, after=parse_id(request.query_params.get("after"))
            )
            context.update(people=people, next_after=next_after)
        else:
            context["directory"] = await posts.directory(me.neighbourhood)
        return render(request, "neighbours/neighbours.html", context)

    @get("/settings/profile")
    async def profile_form(self, request: Request) -> Response:
        me = request.user
        form = Form({"bio": me.bio or ""})
        form.values["skills"] = skills_of(me)
        return render(request, "neighbours/profile_form.html", await _form_context(me, form))

    @post("/settings/profile")
    async def save_profile(self, request: Request) -> Response:
        me = request.user
        data = await request.form()
        form = Form(data)
        bio = form.text("bio", max_length=BIO_MAX, required=False, multiline=True)
        chosen = [s for s in data.getall("skills", []) if isinstance(s, str)]
        if any(s not in SKILLS for s in chosen):
            form.error("skills", _("Choisissez une des options proposées."))
        form.values["skills"] = chosen
        if form.errors:
            return render(request, "neighbours/profile_form.html", await _form_context(me, form), status_code=422)
        # Only these two fields: whatever else the request carries is ignored.
        await User.update({User.bio: bio}).where(User.id == me.id)
        await posts.set_skills(me, sorted(set(chosen), key=list(SKILLS).index))
        return see_other(f"/users/{me.id}?notice=profile_saved")


async def _form_context(me, form: Form) -> dict:
    return {"form": form, "skills": SKILLS, "photo": await profile_photos.name_of(me.id), "photo_form": Form()}


ROUTES = [ProfileController]
