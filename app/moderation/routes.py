"""Routes of the moderation domain."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import (
    NotFound,
    can_moderate,
    ensure_can_see_post,
    is_admin,
    moderation_reach,
    post_rights,
    requires_member,
)
from app.moderation import member_routes
from app.moderation.report_form import read_report, report_page
from app.web import see_other


@post("/moderation/posts/{post_id:int}/{action:str}", guards=[requires_member])
async def moderate_post(request: Request, post_id: int, action: str) -> Response:
    from app.forms import Form
    from app.moderation.actions import ACTIONS, act_on_post
    from app.posts import queries
    from app.web import render

    found = await queries.post_by_id(post_id)
    # Outside their quartiers a moderator is a neighbour like any other: 404.
    # A group's admins moderate its posts too (access.posts).
    rights = await post_rights(request.user, found)
    if action not in ACTIONS or rights is None or not rights.moderate:
        raise NotFound()
    # Pinning puts a post on top of the quartier's feed, where a group's posts never show.
    if found.get("group") and action in ("pin", "unpin"):
        raise NotFound()
    form = Form(await request.form())
    reason = form.text("reason", max_length=300, required=action == "hide")
    if form.errors:
        return render(
            request, "moderation/reason.html", {"form": form, "post": found, "action": action}, status_code=422
        )
    await act_on_post(request.user, found, action, reason)
    return see_other(f"/posts/{post_id}")


@get("/moderation/public", guards=[requires_member])
async def public_log_page(request: Request) -> Response:
    from app.moderation.actions import public_log
    from app.neighbourhoods import queries as neighbourhoods
    from app.web import render

    return render(
        request,
        "moderation/public_log.html",
        {
            "entries": await public_log(request.user.neighbourhood),
            "neighbourhood": await neighbourhoods.current(request.user.neighbourhood),
        },
    )


async def _reported_post(request: Request, post_id: int) -> tuple[dict, dict]:
    from app.posts import queries

    found = await queries.post_by_id(post_id)
    await ensure_can_see_post(request.user, found)
    return found, {
        "kind": "post",
        "id": post_id,
        "text": found["title"],
        "back": f"/posts/{post_id}",
        "action": f"/posts/{post_id}/report",
    }


@get("/posts/{post_id:int}/report", guards=[requires_member])
async def report_form(request: Request, post_id: int) -> Response:
    from app.forms import Form

    _found, target = await _reported_post(request, post_id)
    return report_page(request, target, Form())


@post("/posts/{post_id:int}/report", guards=[requires_member])
async def report(request: Request, post_id: int) -> Response:
    from app.moderation.reports import report_post

    found, target = await _reported_post(request, post_id)
    form, reason, text = await read_report(request)
    if form.errors:
        return report_page(request, target, form, status_code=422)
    await report_post(request.user, found, reason, text)
    if found.get("group"):
        await _tell_group_admins(request.user, found)
    return see_other(f"/posts/{post_id}?notice=reported")


async def _tell_group_admins(reporter, found: dict) -> None:
    """A report on a group's post reaches its admins too, who may hide it;
    the quartier's moderators have it in their queue."""
    from app.groups import queries as groups
    from app.notify.queries import notify

    await notify(
        await groups.admin_ids(found["group"]),
        "group",
        url=f"/posts/{found['id']}",
        actor_id=reporter.id,
        params={"what": "reported", "title": found["title"]},
    )


@get("/moderation", guards=[requires_member])
async def moderation_queue(request: Request) -> Response:
    return await _queue_page(request)


async def _queue_page(request: Request, *, failed: int | None = None, form=None) -> Response:
    from app.moderation.reports import REASONS, queue
    from app.neighbourhoods.tables import Neighbourhood
    from app.web import parse_id, render

    neighbourhoods = await moderation_reach(request.user)
    reports, more = await queue(neighbourhoods, after=parse_id(request.query_params.get("after")))
    # The quartier rules a moderator may change: theirs (an admin: the one they live in).
    mine = neighbourhoods if neighbourhoods is not None else [request.user.neighbourhood]
    settings = await Neighbourhood.select(
        Neighbourhood.id, Neighbourhood.name, Neighbourhood.requires_verification
    ).where(Neighbourhood.id.is_in(mine or [0]))
    return render(
        request,
        "moderation/queue.html",
        {
            "reports": reports,
            "reasons": REASONS,
            "neighbourhoods": settings,
            "more": more,
            "admin": is_admin(request.user),
            "failed": failed,
            "failed_form": form,
        },
        status_code=422 if failed else 200,
    )


@post("/moderation/reports/{report_id:int}/{outcome:str}", guards=[requires_member])
async def close_report(request: Request, report_id: int, outcome: str) -> Response:
    from app.forms import Form
    from app.moderation.reports import close
    from app.moderation.tables import Report

    row = await Report.select().where(Report.id == report_id).first()
    if row is None or outcome not in ("resolved", "dismissed"):
        raise NotFound()
    if not await can_moderate(request.user, row["neighbourhood"]):
        raise NotFound()
    form = Form(await request.form())
    note = form.text("note", max_length=500, required=False)
    if form.errors:
        return await _queue_page(request, failed=report_id, form=form)
    await close([report_id], request.user, outcome, note)
    return see_other("/moderation")


ROUTES: list = [
    *member_routes.ROUTES,
    moderate_post,
    public_log_page,
    report_form,
    report,
    moderation_queue,
    close_report,
]
