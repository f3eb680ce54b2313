"""Routes of the moderation domain."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from app.accounts.guards import requires_login, requires_member
from app.accounts.tables import User
from app.moderation.tables import Block
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


ROUTES: list = [BlockController, export, delete_form, delete_account]
