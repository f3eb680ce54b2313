"""Routes of the moderation domain."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from app.accounts.guards import requires_login, requires_member
from app.accounts.tables import User
from app.moderation import member_routes
from app.moderation.tables import Block
from app.posts.extensions import add_post_panel
from app.web import not_found, safe_next, see_other


class BlockController(Controller):
    guards = [requires_member]

    @post("/users/{user_id:int}/block")
    async def block(self, request: Request, user_id: int) -> Response:
        if user_id == request.user.id or not await User.exists().where(User.id == user_id):
            raise not_found()
        if not await Block.exists().where((Block.blocker == request.user.id) & (Block.blocked == user_id)):
            await Block.insert(Block(blocker=request.user.id, blocked=user_id))
        return see_other(f"/users/{user_id}")

    @post("/users/{user_id:int}/unblock")
    async def unblock(self, request: Request, user_id: int) -> Response:
        await Block.delete().where((Block.blocker == request.user.id) & (Block.blocked == user_id))
        return see_other(f"/users/{user_id}")


@get("/settings/export", guards=[requires_login])
async def export(request: Request) -> Response:
    from app.moderation.privacy import export_archive
    from app.settings import get_settings
    from app.web import limit

    limit(request, f"export:{request.user.id}", 10, 3600)
    body = await export_archive(request.user.id, get_settings().uploads_dir)
    return Response(content=body, media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="mes-donnees-voisinage.zip"',
        "Cache-Control": "private, no-store",
    })


@get("/settings/delete", guards=[requires_login])
async def delete_form(request: Request) -> Response:
    from app.forms import Form
    from app.web import render

    return render(request, "accounts/delete.html", {"form": Form()})


@post("/settings/delete", guards=[requires_login])
async def delete_account(request: Request) -> Response:
    from app.accounts.passwords import verify_password
    from app.accounts.sessions import clear_session_cookie
    from app.forms import Form
    from app.i18n import _
    from app.moderation.privacy import erase_account
    from app.settings import get_settings
    from app.web import limit, render

    limit(request, f"delete:{request.user.id}", 10, 900)
    form = Form(await request.form())
    if not form["password"] or not await verify_password(request.user.password_hash, form["password"]):
        form.error("password", _("Mot de passe incorrect."))
    if form["confirm"] != "1":
        form.error("confirm", _("Cochez la case pour confirmer."))
    if form.errors:
        return render(request, "accounts/delete.html", {"form": form}, status_code=422)
    await erase_account(request.user.id, get_settings().uploads_dir)
    response = see_other("/?notice=account_deleted")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return clear_session_cookie(response)


async def _moderator_panel(post: dict, viewer) -> dict | None:
    from app.posts.permissions import can_moderate

    if not await can_moderate(viewer, post["neighbourhood"]):
        return None
    return {}


add_post_panel("moderation/_post_controls.html", _moderator_panel)


@post("/moderation/posts/{post_id:int}/{action:str}", guards=[requires_member])
async def moderate_post(request: Request, post_id: int, action: str) -> Response:
    from app.forms import Form
    from app.i18n import _
    from app.moderation.actions import ACTIONS, act_on_post
    from app.posts import queries
    from app.posts.permissions import can_moderate
    from app.web import render

    found = await queries.post_by_id(post_id)
    # Outside their quartiers a moderator is a neighbour like any other: 404.
    if found is None or action not in ACTIONS or not await can_moderate(request.user, found["neighbourhood"]):
        raise not_found()
    form = Form(await request.form())
    reason = form.text("reason", max_length=300, required=action == "hide")
    if form.errors:
        return render(request, "moderation/reason.html", {"form": form, "post": found, "action": action}, status_code=422)
    await act_on_post(request.user, found, action, reason)
    return see_other(f"/posts/{post_id}")


@get("/moderation/public", guards=[requires_member])
async def public_log_page(request: Request) -> Response:
    from app.moderation.actions import public_log
    from app.neighbourhoods import queries as hoods
    from app.web import render

    return render(request, "moderation/public_log.html", {
        "entries": await public_log(request.user.neighbourhood), "hood": await hoods.current(request.user.neighbourhood)})


async def _reported_post(request: Request, post_id: int) -> tuple[dict, dict]:
    from app.posts.routes import visible_post

    found, _moderator = await visible_post(request, post_id)
    return found, {"kind": "post", "id": post_id, "text": found["title"], "back": f"/posts/{post_id}",
                   "action": f"/posts/{post_id}/report"}


@get("/posts/{post_id:int}/report", guards=[requires_member])
async def report_form(request: Request, post_id: int) -> Response:
    from app.forms import Form

    _found, target = await _reported_post(request, post_id)
    return member_routes.report_page(request, target, Form())


@post("/posts/{post_id:int}/report", guards=[requires_member])
async def report(request: Request, post_id: int) -> Response:
    from app.moderation.reports import report_post

    found, target = await _reported_post(request, post_id)
    form, reason, text = await member_routes.read_report(request)
    if form.errors:
        return member_routes.report_page(request, target, form, status_code=422)
    await report_post(request.user, found, reason, text)
    return see_other(f"/posts/{post_id}?notice=reported")


_moderated_hoods = member_routes.moderated_hoods  # one definition, shared with the people routes


@get("/moderation", guards=[requires_member])
async def moderation_queue(request: Request) -> Response:
    return await _queue_page(request)


async def _queue_page(request: Request, *, failed: int | None = None, form=None) -> Response:
    from app.moderation.reports import REASONS, queue
    from app.neighbourhoods.tables import Neighbourhood
    from app.web import parse_id, render

    hoods = await _moderated_hoods(request.user)
    if hoods == []:
        raise not_found()
    reports = await queue(hoods, after=parse_id(request.query_params.get("after")), limit=31)
    # The quartier rules a moderator may change: theirs (an admin: the one they live in).
    mine = hoods if hoods is not None else [request.user.neighbourhood]
    settings = await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name, Neighbourhood.requires_verification).where(
        Neighbourhood.id.is_in(mine or [0]))
    return render(request, "moderation/queue.html", {
        "reports": reports[:30], "reasons": REASONS, "hoods": settings,
        "more": reports[29]["id"] if len(reports) > 30 else None, "admin": request.user.role == "admin",
        "failed": failed, "failed_form": form}, status_code=422 if failed else 200)


@post("/moderation/reports/{report_id:int}/{outcome:str}", guards=[requires_member])
async def close_report(request: Request, report_id: int, outcome: str) -> Response:
    from app.forms import Form
    from app.moderation.reports import close
    from app.moderation.tables import Report

    row = await Report.select().where(Report.id == report_id).first()
    hoods = await _moderated_hoods(request.user)
    if row is None or outcome not in ("resolved", "dismissed") or hoods == [] or (
            hoods is not None and row["neighbourhood"] not in hoods):
        raise not_found()
    form = Form(await request.form())
    note = form.text("note", max_length=500, required=False)
    if form.errors:
        return await _queue_page(request, failed=report_id, form=form)
    await close([report_id], request.user, outcome, note)
    return see_other("/moderation")


ROUTES: list = [*member_routes.ROUTES, BlockController, export, delete_form, delete_account, moderate_post, public_log_page, report_form, report,
                moderation_queue, close_report]
