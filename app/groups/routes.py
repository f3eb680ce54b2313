"""Interest groups: the list of the quartier and its quartiers voisins, a
group's page with its feed, joining, leaving and requests. Who may see and do
what is app.access.groups'."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import blocked_ids, ensure_group, ensure_group_admin, nearby_ids, requires_member
from app.forms import Form
from app.groups import queries
from app.i18n import N_, _
from app.notify.queries import notify
from app.posts import queries as posts
from app.posts import view
from app.posts.kinds import display_name
from app.web import limit, parse_id, render, see_other, wants_fragment

NAME_MIN, NAME_MAX, DESCRIPTION_MAX = 3, 80, 2000


async def _list_context(request: Request, form: Form) -> dict:
    me = request.user
    before = parse_id(request.query_params.get("before"))
    hoods = [me.neighbourhood, *await nearby_ids(me.neighbourhood)]
    groups, cursor = await queries.groups_page(hoods, me.id, before)
    return {
        "groups": groups,
        "next_url": f"/groups?before={cursor}" if cursor else None,
        "form": form,
        "topics": queries.TOPICS,
        "joining": queries.JOINING,
    }


@get("/groups", guards=[requires_member])
async def index(request: Request) -> Response:
    context = await _list_context(request, Form({"joining": "open"}))
    return render(request, "groups/index.html", context, fragment="groups/_page.html")


@post("/groups", guards=[requires_member])
async def create(request: Request) -> Response:
    me = request.user
    form = Form(await request.form())
    name = form.text("name", max_length=NAME_MAX, min_length=NAME_MIN)
    description = form.text("description", max_length=DESCRIPTION_MAX, required=False, multiline=True)
    topic = form.choice("topic", tuple(queries.TOPICS))
    joining = form.choice("joining", tuple(queries.JOINING))
    if form.errors:
        return render(request, "groups/index.html", await _list_context(request, form), status_code=422)
    await limit(f"group:{me.id}", 10, 24 * 3600)
    group_id = await queries.create_group(
        creator_id=me.id,
        neighbourhood_id=me.neighbourhood,
        name=name,
        description=description,
        topic=topic,
        joining=joining,
    )
    return see_other(f"/groups/{group_id}")


async def _group(request: Request, group_id: int):
    group = await queries.group_by_id(group_id)
    return group, await ensure_group(request.user, group)


@get("/groups/{group_id:int}", guards=[requires_member])
async def show(request: Request, group_id: int) -> Response:
    group, rights = await _group(request, group_id)
    before = parse_id(request.query_params.get("before"))
    found, cursor = [], None
    if rights.member or rights.moderate:
        found, cursor = await posts.group_page(
            group_id, request.user.id, before=before, blocked=await blocked_ids(request.user)
        )
    context = {
        "group": group,
        "rights": rights,
        "topics": queries.TOPICS,
        "posts": view.decorate(found),
        "pinned": [],
        "next_url": f"/groups/{group_id}?before={cursor}" if cursor else None,
    }
    if before:
        return render(request, "groups/show.html", context, fragment="posts/_page.html")
    if rights.admin:
        # Each list a page at a time, however many ask or belong.
        requests_after = parse_id(request.query_params.get("requests_after"))
        members_after = parse_id(request.query_params.get("members_after"))
        context["requests"], context["requests_next"] = await queries.people(group_id, "pending", requests_after)
        context["members"], context["members_next"] = await queries.people(group_id, "member", members_after)
        if requests_after:
            return render(request, "groups/show.html", context, fragment="groups/_requests.html")
        if members_after:
            return render(request, "groups/show.html", context, fragment="groups/_members.html")
    return render(request, "groups/show.html", context)


def _membership(request: Request, group: dict, rights) -> Response:
    if wants_fragment(request):
        return render(request, "groups/_membership.html", {"group": group, "rights": rights})
    return see_other(f"/groups/{group['id']}")


@post("/groups/{group_id:int}/join", guards=[requires_member])
async def join(request: Request, group_id: int) -> Response:
    me = request.user
    group, rights = await _group(request, group_id)
    if rights.may_join:
        role = "member" if group["joining"] == "open" else "pending"
        if await queries.join(group_id, me.id, role) and role == "pending":
            await notify(
                await queries.admin_ids(group_id),
                "group",
                url=f"/groups/{group_id}",
                actor_id=me.id,
                params={"what": "request", "who": display_name(me.first_name, me.last_name), "title": group["name"]},
            )
    group, rights = await _group(request, group_id)
    return _membership(request, group, rights)


@post("/groups/{group_id:int}/leave", guards=[requires_member])
async def leave(request: Request, group_id: int) -> Response:
    group, rights = await _group(request, group_id)
    if rights.role is not None:
        await queries.leave(group_id, request.user.id)
    group = await queries.group_by_id(group_id)
    rights = await ensure_group(request.user, group) if group and group["status"] == "open" else None
    if rights is None:
        return see_other("/groups")
    return _membership(request, group, rights)


@post("/groups/{group_id:int}/requests/{user_id:int}", guards=[requires_member])
async def answer(request: Request, group_id: int, user_id: int) -> Response:
    group = await queries.group_by_id(group_id)
    await ensure_group_admin(request.user, group)
    form = Form(await request.form())
    accepted = form["answer"] == "accept"
    done = await (queries.accept if accepted else queries.refuse)(group_id, user_id)
    if done:
        await notify(
            [user_id],
            "group",
            url=f"/groups/{group_id}" if accepted else "/groups",
            actor_id=request.user.id,
            params={"what": "accepted" if accepted else "refused", "title": group["name"]},
        )
    # A refused request leaves no row behind, yet its line names who asked.
    return await _person_answer(request, group_id, user_id, just_refused=done and not accepted)


@post("/groups/{group_id:int}/admins/{user_id:int}", guards=[requires_member])
async def name_admin(request: Request, group_id: int, user_id: int) -> Response:
    await ensure_group_admin(request.user, await queries.group_by_id(group_id))
    await queries.name_admin(group_id, user_id)
    return await _person_answer(request, group_id, user_id)


# What an admin's answer left the person as: whatever another admin did meanwhile shows too.
OUTCOMES = {
    "admin": N_("Administre le groupe"),
    "member": N_("Fait partie du groupe"),
    "pending": N_("Attend une réponse"),
    None: N_("Ne fait pas partie du groupe"),
}


async def _person_answer(request: Request, group_id: int, user_id: int, *, just_refused: bool = False) -> Response:
    """The person's line, saying where they now stand (htmx swaps it in); the
    group's page otherwise. It names only someone the group has, or whose
    request was just refused: an admin posting any account's id learns no name."""
    person = await queries.person(group_id, user_id) if wants_fragment(request) else None
    if person is None:
        return see_other(f"/groups/{group_id}")
    named = person["role"] is not None or just_refused
    outcome = _(OUTCOMES.get(person["role"], OUTCOMES[None]))
    return render(request, "groups/_person.html", {"person": person if named else None, "outcome": outcome})


ROUTES = [index, create, show, join, leave, answer, name_admin]
