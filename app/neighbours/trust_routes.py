"""Becoming a verified neighbour oneself: vouching for a neighbour, typing
the code of a letter (/verify). Moderators' side: app.moderation.member_routes."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import NotFound, can_vouch_for, may_vouch, requires_member
from app.accounts.queries import user_by_id
from app.forms import Form
from app.i18n import _
from app.neighbours import trust
from app.neighbours.page import profile_with_errors
from app.web import limit, render, see_other


@post("/users/{user_id:int}/vouch", guards=[requires_member])
async def vouch(request: Request, user_id: int) -> Response:
    me = request.user
    member = await user_by_id(user_id)
    if not can_vouch_for(me, member):
        raise NotFound()
    if not may_vouch(me):
        form = Form()
        form.error("vouch", _("Seuls les voisins vérifiés peuvent se porter garants."))
        return await profile_with_errors(request, member, form)
    await limit(f"vouch:{me.id}", 20, 86400)
    await trust.vouch(me, member)
    return see_other(f"/users/{member.id}?notice=vouched")


@get("/verify", guards=[requires_member])
async def verify_form(request: Request) -> Response:
    return render(request, "neighbours/verify.html", {"form": Form()})


@post("/verify", guards=[requires_member])
async def verify_code(request: Request) -> Response:
    await limit(f"verify:{request.user.id}", 10, 3600)
    form = Form(await request.form())
    code = form.text("code", max_length=20)
    if not form.errors and request.user.verification != "verified":
        outcome = await trust.check_code(request.user, code)
        if outcome == "wrong":
            form.error(
                "code", _("Ce code ne correspond pas. Vérifiez la lettre (les lettres O et I n'y figurent pas).")
            )
        elif outcome == "none":
            form.error(
                "code",
                _("Aucune lettre ne vous a encore été envoyée. La modération de votre quartier l'imprime bientôt."),
            )
        elif outcome == "blocked":
            form.error(
                "code", _("Trop d'essais avec ce code. Demandez une nouvelle lettre à la modération du quartier.")
            )
    if form.errors:
        return render(request, "neighbours/verify.html", {"form": form}, status_code=422)
    return see_other(f"/users/{request.user.id}?notice=verified")


ROUTES = [vouch, verify_form, verify_code]
