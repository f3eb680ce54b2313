"""Urgent alerts: the form (a moderator publishes, a member proposes), the
alert's page, and the moderators' queue of proposals with its decisions."""

from __future__ import annotations

from litestar import Request, Response, get, post

from app import ratelimits
from app.access import (
    NotFound,
    can_moderate,
    can_see_alert,
    ensure_can_decide_alert,
    moderation_reach,
    posting_refusal,
    requires_member,
)
from app.alerts import queries
from app.forms import Form
from app.i18n import ngettext
from app.moderation.report_form import read_report, report_page
from app.moderation.reports import report_other
from app.neighbourhoods import queries as neighbourhoods
from app.web import parse_id, render, see_other, wants_fragment

# A member proposing more than this in a day is not reporting emergencies.
PROPOSALS_PER_DAY = 5


def _limit_message() -> str:
    return ngettext(
        "Le quartier a déjà publié %(num)s alerte aujourd'hui : c'est le maximum. Pour une urgence, appelez le 112.",
        "Le quartier a déjà publié %(num)s alertes aujourd'hui : c'est le maximum. Pour une urgence, appelez le 112.",
        queries.DAILY_MAX,
    )


async def _form_page(request: Request, form: Form, status_code: int = 200) -> Response:
    me = request.user
    return render(
        request,
        "alerts/new.html",
        {
            "form": form,
            "publishes": await can_moderate(me, me.neighbourhood),
            "categories": queries.CATEGORIES,
            "durations": queries.DURATIONS,
        },
        status_code=status_code,
    )


@get("/alerts/new", guards=[requires_member])
async def new_alert(request: Request) -> Response:
    return await _form_page(request, Form())


@post("/alerts", guards=[requires_member])
async def create_alert(request: Request) -> Response:
    me = request.user
    form = Form(await request.form())
    category = form.choice("category", tuple(queries.CATEGORIES))
    title = form.text("title", max_length=queries.TITLE_MAX)
    body = form.text("body", max_length=queries.BODY_MAX, multiline=True)
    hours = form.choice("hours", tuple(str(h) for h in queries.DURATIONS), required=False)
    publishes = await can_moderate(me, me.neighbourhood)
    refusal = posting_refusal(me, await neighbourhoods.current(me.neighbourhood))
    if refusal:
        form.error("limit", refusal)
    if (
        not form.errors
        and not publishes
        and not await ratelimits.hit(f"alert-propose:{me.id}", PROPOSALS_PER_DAY, 24 * 3600)
    ):
        form.error(
            "limit",
            ngettext(
                "Vous avez déjà proposé %(num)s alerte aujourd'hui : c'est le maximum.",
                "Vous avez déjà proposé %(num)s alertes aujourd'hui : c'est le maximum.",
                PROPOSALS_PER_DAY,
            ),
        )
    if form.errors:
        return await _form_page(request, form, status_code=422)
    try:
        alert_id = await queries.create(
            me,
            me.neighbourhood,
            category=category,
            title=title,
            body=body,
            hours=int(hours) if hours else queries.default_hours(category),
            publish=publishes,
        )
    except queries.DailyLimitReached:
        form.error("limit", _limit_message())
        return await _form_page(request, form, status_code=422)
    return see_other(f"/alerts/{alert_id}?notice={'alert_published' if publishes else 'alert_proposed'}")


async def _visible(request: Request, alert_id: int) -> dict:
    alert = await queries.by_id(alert_id)
    if not await can_see_alert(request.user, alert):
        raise NotFound()
    return alert


@get("/alerts/{alert_id:int}", guards=[requires_member])
async def show_alert(request: Request, alert_id: int) -> Response:
    alert = await _visible(request, alert_id)
    return render(
        request,
        "alerts/show.html",
        {
            "alert": alert,
            "showing": queries.is_showing(alert),
            "categories": queries.CATEGORIES,
            "moderates": await can_moderate(request.user, alert["neighbourhood"]),
            "form": Form(),
        },
    )


async def _reportable(request: Request, alert_id: int) -> tuple[dict, dict]:
    """A published alert shows its author's words to the quartier: anyone who reads it may report it."""
    alert = await _visible(request, alert_id)
    if alert["status"] not in ("published", "ended"):
        raise NotFound()
    target = {
        "kind": "alert",
        "id": alert_id,
        "text": alert["title"],
        "back": f"/alerts/{alert_id}",
        "action": f"/alerts/{alert_id}/report",
    }
    return alert, target


@get("/alerts/{alert_id:int}/report", guards=[requires_member])
async def report_form(request: Request, alert_id: int) -> Response:
    _alert, target = await _reportable(request, alert_id)
    return report_page(request, target, Form())


@post("/alerts/{alert_id:int}/report", guards=[requires_member])
async def report(request: Request, alert_id: int) -> Response:
    alert, target = await _reportable(request, alert_id)
    form, reason, text = await read_report(request)
    if form.errors:
        return report_page(request, target, form, status_code=422)
    await report_other(request.user, "alert", alert_id, alert["neighbourhood"], alert["author"], reason, text)
    return see_other(f"/alerts/{alert_id}?notice=reported")


@get("/moderation/alerts", guards=[requires_member])
async def proposals(request: Request) -> Response:
    reach = await moderation_reach(request.user)
    waiting, more = await queries.proposals(reach, before=parse_id(request.query_params.get("before")))
    return render(
        request,
        "alerts/queue.html",
        {"proposals": waiting, "more": more, "categories": queries.CATEGORIES, "failed": None, "form": Form()},
    )


async def _decided(request: Request, alert: dict, notice: str, *, error_field: str = "", form: Form | None = None):
    """The queue again: its item (htmx) or the whole page after a redirect;
    a refused decision comes back with its message next to the item (422)."""
    if error_field or (form and form.errors):
        context = {"categories": queries.CATEGORIES, "failed": alert["id"], "form": form or Form()}
        if wants_fragment(request):
            return render(request, "alerts/_proposal.html", {**context, "p": alert}, status_code=422)
        waiting, more = await queries.proposals(await moderation_reach(request.user))
        return render(request, "alerts/queue.html", {**context, "proposals": waiting, "more": more}, status_code=422)
    if wants_fragment(request):
        fresh = await queries.by_id(alert["id"])
        return render(request, "alerts/_proposal.html", {"p": fresh, "categories": queries.CATEGORIES, "form": Form()})
    return see_other(f"/moderation/alerts?notice={notice}")


@post("/alerts/{alert_id:int}/approve", guards=[requires_member])
async def approve(request: Request, alert_id: int) -> Response:
    alert = await queries.by_id(alert_id)
    await ensure_can_decide_alert(request.user, alert)
    try:
        await queries.approve(request.user, alert)
    except queries.DailyLimitReached:
        form = Form()
        form.error("decision", _limit_message())
        return await _decided(request, alert, "", form=form)
    return await _decided(request, alert, "alert_published")


@post("/alerts/{alert_id:int}/refuse", guards=[requires_member])
async def refuse(request: Request, alert_id: int) -> Response:
    alert = await queries.by_id(alert_id)
    await ensure_can_decide_alert(request.user, alert)
    form = Form(await request.form())
    reason = form.text("reason", max_length=queries.REASON_MAX)
    if form.errors:
        return await _decided(request, alert, "", form=form)
    await queries.refuse(request.user, alert, reason)
    return await _decided(request, alert, "alert_refused")


@post("/alerts/{alert_id:int}/end", guards=[requires_member])
async def end(request: Request, alert_id: int) -> Response:
    alert = await queries.by_id(alert_id)
    await ensure_can_decide_alert(request.user, alert)
    await queries.end(request.user, alert)
    return see_other(f"/alerts/{alert_id}?notice=alert_ended")


ROUTES = [new_alert, create_alert, show_alert, report_form, report, proposals, approve, refuse, end]
