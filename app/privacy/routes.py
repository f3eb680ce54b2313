"""/settings/export and /settings/delete: one's own data, taken away or erased."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import requires_login
from app.accounts.passwords import verify_password
from app.accounts.sessions import clear_session_cookie
from app.forms import Form
from app.i18n import _
from app.privacy.queries import erase_account, export_archive
from app.web import limit, render, see_other


@get("/settings/export", guards=[requires_login])
async def export(request: Request) -> Response:
    await limit(f"export:{request.user.id}", 10, 3600)
    body = await export_archive(request.user.id)
    return Response(
        content=body,
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="mes-donnees-voisinage.zip"',
            "Cache-Control": "private, no-store",
        },
    )


@get("/settings/delete", guards=[requires_login])
async def delete_form(request: Request) -> Response:
    return render(request, "privacy/delete.html", {"form": Form()})


@post("/settings/delete", guards=[requires_login])
async def delete_account(request: Request) -> Response:
    await limit(f"delete:{request.user.id}", 10, 900)
    form = Form(await request.form())
    if not form["password"] or not await verify_password(request.user.password_hash, form["password"]):
        form.error("password", _("Mot de passe incorrect."))
    if form["confirm"] != "1":
        form.error("confirm", _("Cochez la case pour confirmer."))
    if form.errors:
        return render(request, "privacy/delete.html", {"form": form}, status_code=422)
    await erase_account(request.user.id)
    response = see_other("/?notice=account_deleted")
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return clear_session_cookie(response)


ROUTES = [export, delete_form, delete_account]
