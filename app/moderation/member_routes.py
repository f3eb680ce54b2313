"""Routes about people and the team: reports of replies, messages and profiles,
hiding replies, suspension, verification by a moderator and letters,
appointing moderators, the quartier's verification rule, the audit log."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app.access import (
    NotFound,
    can_moderate,
    can_moderate_member,
    can_reach,
    can_report_message,
    can_report_reply,
    can_suspend,
    moderation_reach,
    requires_admin,
    requires_member,
    suspension,
)
from app.accounts.queries import user_by_email, user_by_id
from app.accounts.tables import User
from app.forms import Form
from app.i18n import _
from app.moderation import members
from app.moderation.audit import audit
from app.moderation.report_form import read_report, report_page
from app.moderation.reports import report_other
from app.neighbourhoods.tables import Neighbourhood
from app.neighbours import profile_photos, trust
from app.neighbours.page import profile_with_errors
from app.notify.queries import notify
from app.posts.tables import Reply
from app.web import parse_id, render, see_other


async def _member_of_my_quartier(request: Request, user_id: int) -> User:
    """A neighbour the moderator may act on: living in a quartier they moderate. Else 404."""
    member = await user_by_id(user_id)
    if not await can_moderate_member(request.user, member):
        raise NotFound()
    return member


# Reports of replies, messages and profiles ------------------------------------------------

REPORTABLE = ("reply", "message", "user")


async def _report_target(request: Request, kind: str, target_id: int) -> dict:
    """What is reported, as the reporter may see it; 404 for anything else."""
    target = await _find_target(request, kind, target_id)
    target["action"] = f"/report/{kind}/{target_id}"
    return target


async def _find_target(request: Request, kind: str, target_id: int) -> dict:
    from app.messages.tables import Message

    me = request.user
    if kind == "reply":
        row = (
            await Reply.select(
                Reply.id,
                Reply.body,
                Reply.author,
                Reply.post,
                Reply.post.neighbourhood.as_alias("neighbourhood"),
                Reply.post.title.as_alias("title"),
            )
            .where(Reply.id == target_id)
            .first()
        )
        if row and can_report_reply(me, row):
            return {
                "kind": kind,
                "id": row["id"],
                "neighbourhood": row["neighbourhood"],
                "user": row["author"],
                "text": row["body"],
                "back": f"/posts/{row['post']}#reply-{row['id']}",
            }
    elif kind == "message":
        row = (
            await Message.select(
                Message.id,
                Message.body,
                Message.sender,
                Message.conversation,
                Message.conversation.user_a.as_alias("user_a"),
                Message.conversation.user_b.as_alias("user_b"),
                Message.sender.neighbourhood.as_alias("neighbourhood"),
            )
            .where(Message.id == target_id)
            .first()
        )
        if row and can_report_message(me, row):
            return {
                "kind": kind,
                "id": row["id"],
                "neighbourhood": row["neighbourhood"] or me.neighbourhood,
                "user": row["sender"],
                "text": row["body"],
                "back": f"/messages/{row['conversation']}",
            }
    elif kind == "user":
        member = await user_by_id(target_id)
        if await can_reach(me, member):
            return {
                "kind": kind,
                "id": member.id,
                "neighbourhood": member.neighbourhood,
                "user": member.id,
                "text": member.display_name,
                "back": f"/users/{member.id}",
            }
    raise NotFound()


@get("/report/{kind:str}/{target_id:int}", guards=[requires_member])
async def report_form(request: Request, kind: str, target_id: int) -> Response:
    if kind not in REPORTABLE:
        raise NotFound()
    return report_page(request, await _report_target(request, kind, target_id), Form())


@post("/report/{kind:str}/{target_id:int}", guards=[requires_member])
async def report(request: Request, kind: str, target_id: int) -> Response:
    if kind not in REPORTABLE:
        raise NotFound()
    target = await _report_target(request, kind, target_id)
    form, reason, text = await read_report(request)
    if form.errors:
        return report_page(request, target, form, status_code=422)
    await report_other(request.user, kind, target["id"], target["neighbourhood"], target["user"], reason, text)
    back = target["back"]
    return see_other(back.replace("#", "?notice=reported#", 1) if "#" in back else f"{back}?notice=reported")


# Replies ---------------------------------------------------------------------------------


@post("/moderation/replies/{reply_id:int}/{action:str}", guards=[requires_member])
async def moderate_reply(request: Request, reply_id: int, action: str) -> Response:
    row = (
        await Reply.select(
            Reply.id,
            Reply.author,
            Reply.post,
            Reply.post.neighbourhood.as_alias("neighbourhood"),
            Reply.post.title.as_alias("title"),
        )
        .where(Reply.id == reply_id)
        .first()
    )
    me = request.user
    if row is None or action not in ("hide", "restore") or not await can_moderate(me, row["neighbourhood"]):
        raise NotFound()
    form = Form(await request.form())
    reason = form.text("reason", max_length=300, required=action == "hide")
    if form.errors:
        return render(request, "moderation/reply_reason.html", {"form": form, "reply": row}, status_code=422)
    await Reply.update({Reply.hidden: action == "hide", Reply.hidden_reason: reason if action == "hide" else ""}).where(
        Reply.id == reply_id
    )
    await audit(
        me, f"{action}_reply", "reply", reply_id, reason, neighbourhood=row["neighbourhood"], target_user=row["author"]
    )
    if row["author"]:
        what = "reply_hidden" if action == "hide" else "reply_restored"
        await notify(
            [row["author"]],
            "moderation",
            url=f"/posts/{row['post']}#reply-{reply_id}",
            params={"what": what, "title": row["title"], "reason": reason},
            actor_id=me.id,
        )
    return see_other(f"/posts/{row['post']}#reply-{reply_id}")


# Suspension and verification --------------------------------------------------------------


@post("/moderation/users/{user_id:int}/suspend", guards=[requires_member])
async def suspend(request: Request, user_id: int) -> Response:
    member = await _member_of_my_quartier(request, user_id)
    form = Form(await request.form())
    duration = form.choice("duration", tuple(members.DURATIONS))
    reason = form.text("reason", max_length=300)
    if not can_suspend(request.user, member):
        form.error("duration", _("Seul un administrateur peut suspendre un modérateur."))
    if form.errors:
        return await profile_with_errors(request, member, form)
    await members.suspend(request.user, member, duration, reason)
    return see_other(f"/users/{member.id}?notice=suspended")


@post("/moderation/users/{user_id:int}/unsuspend", guards=[requires_member])
async def unsuspend(request: Request, user_id: int) -> Response:
    member = await _member_of_my_quartier(request, user_id)
    await members.lift_suspension(request.user, member)
    return see_other(f"/users/{member.id}?notice=unsuspended")


@post("/moderation/users/{user_id:int}/photo/delete", guards=[requires_member])
async def remove_member_photo(request: Request, user_id: int) -> Response:
    """A profile photo that has no place in the quartier goes, and the log says who took it away."""
    member = await _member_of_my_quartier(request, user_id)
    async with User._meta.db.transaction():
        if await profile_photos.name_of(member.id):
            await profile_photos.remove(member.id)
            await audit(
                request.user,
                "remove_photo",
                "user",
                member.id,
                neighbourhood=member.neighbourhood,
                target_user=member.id,
            )
    return see_other(f"/users/{member.id}?notice=member_photo_removed")


@post("/moderation/users/{user_id:int}/verify", guards=[requires_member])
async def verify_member(request: Request, user_id: int) -> Response:
    member = await _member_of_my_quartier(request, user_id)
    if member.verification != "verified":
        await trust.mark_verified(request.user, member, "moderator")
    return see_other(f"/users/{member.id}?notice=verified")


@get("/moderation/letters", guards=[requires_member])
async def letters_page(request: Request) -> Response:
    neighbourhoods = await moderation_reach(request.user)
    return render(
        request, "moderation/letters.html", {"pending": await trust.pending_letters(neighbourhoods), "printed": None}
    )


@post("/moderation/letters", guards=[requires_member])
async def print_letters(request: Request) -> Response:
    neighbourhoods = await moderation_reach(request.user)
    form = await request.form()
    chosen = {parse_id(v) for v in form.getall("user", [])} - {None}
    # Only neighbours of the moderator's quartiers waiting for a letter, whatever the form says.
    pending = [p for p in await trust.pending_letters(neighbourhoods, limit=500) if p["id"] in chosen]
    if not pending:
        return render(
            request,
            "moderation/letters.html",
            {
                "pending": await trust.pending_letters(neighbourhoods),
                "printed": None,
                "error": _("Cochez au moins un voisin."),
            },
            status_code=422,
        )
    codes = await trust.print_letters(request.user, pending)
    neighbourhood_names = {
        h["id"]: h["name"]
        for h in await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name).where(
            Neighbourhood.id.is_in(list({p["neighbourhood"] for p in pending}))
        )
    }
    for p in pending:
        p["code"] = codes[p["id"]]
        p["neighbourhood_name"] = neighbourhood_names.get(p["neighbourhood"], "")
    return render(
        request, "moderation/letters_print.html", {"letters": pending}, headers={"Cache-Control": "private, no-store"}
    )


# The quartier and the team -----------------------------------------------------------------


@post("/moderation/neighbourhoods/{neighbourhood_id:int}/settings", guards=[requires_member])
async def neighbourhood_settings(request: Request, neighbourhood_id: int) -> Response:
    if not await can_moderate(request.user, neighbourhood_id) or not await Neighbourhood.exists().where(
        Neighbourhood.id == neighbourhood_id
    ):
        raise NotFound()
    form = Form(await request.form())
    await members.set_requires_verification(request.user, neighbourhood_id, form["requires_verification"] == "on")
    return see_other("/moderation?notice=saved")


@get("/moderation/log", guards=[requires_member])
async def audit_page(request: Request) -> Response:
    neighbourhoods = await moderation_reach(request.user)
    entries, older = await members.audit_log(neighbourhoods, before=parse_id(request.query_params.get("before")))
    return render(request, "moderation/log.html", {"entries": entries, "older": older})


@get("/moderation/team", guards=[requires_admin])
async def team_page(request: Request) -> Response:
    return render(request, "moderation/team.html", await _team_context(Form()))


async def _team_context(form: Form) -> dict:
    neighbourhoods = (
        await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name, Neighbourhood.city)
        .where(Neighbourhood.status == "open")
        .order_by(Neighbourhood.name)
    )
    return {"form": form, "moderators": await members.moderators(), "neighbourhoods": neighbourhoods}


@post("/moderation/team", guards=[requires_admin])
async def appoint(request: Request) -> Response:
    form = Form(await request.form())
    email = form.email("email")
    neighbourhood_raw = form["neighbourhood"]
    member = await user_by_email(email) if "email" not in form.errors else None
    if "email" not in form.errors and member is None:
        form.error("email", _("Aucun voisin n'a cette adresse e-mail."))
    neighbourhood = None
    if (neighbourhood_id := parse_id(neighbourhood_raw)) is not None:
        neighbourhood = await Neighbourhood.select(Neighbourhood.id).where(Neighbourhood.id == neighbourhood_id).first()
    if neighbourhood is None:
        form.error("neighbourhood", _("Choisissez un quartier dans la liste."))
    if member is not None and suspension(member):
        form.error("email", _("Ce compte est suspendu."))
    if form.errors:
        return render(request, "moderation/team.html", await _team_context(form), status_code=422)
    await members.appoint(request.user, member, neighbourhood["id"])
    return see_other("/moderation/team?notice=saved")


@post("/moderation/team/{assignment_id:int}/remove", guards=[requires_admin])
async def remove_moderator(request: Request, assignment_id: int) -> Response:
    if not await members.dismiss(request.user, assignment_id):
        raise NotFound()
    return see_other("/moderation/team?notice=saved")


ROUTES = [
    report_form,
    report,
    moderate_reply,
    suspend,
    unsuspend,
    remove_member_photo,
    verify_member,
    letters_page,
    print_letters,
    neighbourhood_settings,
    audit_page,
    team_page,
    appoint,
    remove_moderator,
]
