"""Recommendations (/recommendations): a neighbour recommends a local
business, others add "Moi aussi"; the list is ranked by how many different
neighbours of the quartier and its quartiers voisins recommend each entry.
Who sees and who counts: app.access.recommendations."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request, Response, get, post

from app import access
from app.access import Forbidden, NotFound, blocked_ids, requires_member
from app.forms import Form
from app.i18n import _
from app.moderation import reports
from app.moderation.report_form import read_report, report_page
from app.recommendations import queries
from app.web import limit, parse_id, render, see_other

NAME_MAX, COMMUNE_MAX, TEXT_MAX, WEBSITE_MAX = 120, 100, 1000, 300


def _cursor(raw: str | None):
    votes, _sep, last = (raw or "").partition(".")
    votes, last = parse_id(votes), parse_id(last)
    return (votes, last) if votes is not None and last is not None else None


def _next_url(category: str, q: str, cursor) -> str | None:
    if cursor is None:
        return None
    params = [f"category={category}"] if category else []
    if q:
        params.append(f"q={quote(q)}")
    params.append(f"after={cursor[0]}.{cursor[1]}")
    return "/recommendations?" + "&".join(params)


@get("/recommendations", guards=[requires_member])
async def listing(request: Request) -> Response:
    category = request.query_params.get("category") or ""
    if category not in queries.CATEGORIES:
        category = ""
    q = " ".join((request.query_params.get("q") or "").split())[:100]
    area = await access.recommendation_area(request.user)
    entries, cursor = await queries.ranked(
        area, category=category, q=q, after=_cursor(request.query_params.get("after"))
    )
    context = {
        "entries": entries,
        "category": category,
        "q": q,
        "categories": queries.CATEGORIES,
        "next_url": _next_url(category, q, cursor),
        "may_recommend": access.may_recommend(request.user),
    }
    return render(request, "recommendations/list.html", context, fragment="recommendations/_page.html")


async def _form_context(request: Request, form: Form) -> dict:
    area = await access.recommendation_area(request.user)
    return {
        "form": form,
        "categories": queries.CATEGORIES,
        "similar": await queries.similar(form["name"], area),
    }


def _refuse_unless_may_recommend(user) -> None:
    if not access.may_recommend(user):
        raise Forbidden(_("Seuls les voisins dont l'adresse est vérifiée peuvent recommander."))


@get("/recommendations/new", guards=[requires_member])
async def new(request: Request) -> Response:
    _refuse_unless_may_recommend(request.user)
    form = Form(
        {"name": request.query_params.get("name") or "", "category": request.query_params.get("category") or ""}
    )
    return render(request, "recommendations/new.html", await _form_context(request, form))


@get("/recommendations/similar", guards=[requires_member])
async def similar(request: Request) -> Response:
    """While the name is typed: the entries it may already be (htmx), or the form."""
    form = Form({"name": request.query_params.get("name") or ""})
    context = await _form_context(request, form)
    return render(request, "recommendations/new.html", context, fragment="recommendations/_similar.html")


def _own_business_error(form: Form, user, website: str, field: str) -> None:
    if queries.is_own_business(user.email, website):
        form.error(
            field,
            _(
                "Votre adresse e-mail est à l'adresse de ce site : on ne recommande pas sa propre entreprise. "
                "Laissez vos voisins le faire."
            ),
        )


@post("/recommendations", guards=[requires_member])
async def create(request: Request) -> Response:
    me = request.user
    _refuse_unless_may_recommend(me)
    # Shared by every process (app.ratelimits): a neighbour recommends a few places, not hundreds.
    await limit(f"recommend:{me.id}", 30, 3600)
    form = Form(await request.form())
    name = form.text("name", max_length=NAME_MAX)
    category = form.choice("category", tuple(queries.CATEGORIES))
    commune = form.text("commune", max_length=COMMUNE_MAX)
    phone = form.text("phone", max_length=30, required=False)
    if phone:
        phone = queries.french_phone(phone) or ""
        if not phone:
            form.error(
                "phone", _("Ce numéro n'est pas un numéro français (exemple : 01 23 45 67 89 ou +33 1 23 45 67 89).")
            )
    website = form.text("website", max_length=WEBSITE_MAX, required=False)
    if website and "website" not in form.errors:
        website = queries.web_address(website) or ""
        if not website:
            form.error("website", _("Indiquez une adresse web en http:// ou https:// (exemple : https://fournil.fr)."))
    text = form.text("text", max_length=TEXT_MAX, multiline=True)
    if name and not queries.key(name) and "name" not in form.errors:
        form.error("name", _("Le nom doit contenir au moins une lettre ou un chiffre."))
    if not form.errors:
        existing = await queries.matching(name, commune, phone)
        _own_business_error(form, me, website or (existing or {}).get("website", ""), "website" if website else "name")
    if form.errors:
        return render(request, "recommendations/new.html", await _form_context(request, form), status_code=422)
    business_id = await queries.recommend(
        me, name=name, category=category, commune=commune, phone=phone, website=website, text=text
    )
    return see_other(f"/recommendations/{business_id}")


async def _visible_business(request: Request, business_id: int) -> tuple[dict, list[int]]:
    area = await access.recommendation_area(request.user)
    business = await queries.business_by_id(business_id)
    if business is None or not await access.can_see_business(request.user, business_id, area):
        raise NotFound()
    return business, area


async def _entry_context(request: Request, business: dict, area: list[int], form: Form | None = None) -> dict:
    me = request.user
    counted = await queries.words(business["id"], area)
    # The words of people the reader blocked, or who blocked them, are not
    # shown; their "Moi aussi" still counts (the rank is not theirs alone).
    blocked = set(await blocked_ids(me))
    words = [w for w in counted if w["author"] not in blocked]
    mine = await queries.own(business["id"], me.id)
    if form is None:
        form = Form({"text": mine["text"]} if mine else {})
    # Who may hide a recommendation: the moderators of the quartier it was written in.
    reach: dict[int, bool] = {}
    for word in words:
        if word["neighbourhood"] not in reach:
            reach[word["neighbourhood"]] = await access.can_hide_recommendation(me, word)
    moderates = {word["id"]: reach[word["neighbourhood"]] for word in words}
    return {
        "business": business,
        "words": words,
        "votes": len({w["author"] for w in counted}),
        "mine": mine,
        "form": form,
        "categories": queries.CATEGORIES,
        "reasons": reports.REASONS,
        "moderates": moderates,
        "may_recommend": access.may_recommend(me),
    }


@get("/recommendations/{business_id:int}", guards=[requires_member])
async def entry(request: Request, business_id: int) -> Response:
    business, area = await _visible_business(request, business_id)
    return render(request, "recommendations/entry.html", await _entry_context(request, business, area))


async def _after_change(request: Request, business_id: int) -> Response:
    """The entry's panel for htmx, the page otherwise; the list once the entry is gone from view."""
    area = await access.recommendation_area(request.user)
    business = await queries.business_by_id(business_id)
    if business is None or not await access.can_see_business(request.user, business_id, area):
        if request.headers.get("hx-request") == "true":
            # htmx would follow a 303 and swap the whole list into the panel: it navigates instead.
            return Response(content=b"", status_code=200, headers={"HX-Redirect": "/recommendations"})
        return see_other("/recommendations")
    if request.headers.get("hx-request") == "true":
        context = await _entry_context(request, business, area)
        return render(request, "recommendations/entry.html", context, fragment="recommendations/_panel.html")
    return see_other(f"/recommendations/{business_id}")


@post("/recommendations/{business_id:int}/me-too", guards=[requires_member])
async def me_too(request: Request, business_id: int) -> Response:
    me = request.user
    business, area = await _visible_business(request, business_id)
    _refuse_unless_may_recommend(me)
    await limit(f"recommend:{me.id}", 30, 3600)
    form = Form(await request.form())
    text = form.text("text", max_length=TEXT_MAX, required=False, multiline=True)
    _own_business_error(form, me, business["website"], "text")
    if form.errors:
        context = await _entry_context(request, business, area, form)
        return render(
            request, "recommendations/entry.html", context, fragment="recommendations/_panel.html", status_code=422
        )
    await queries.say(business_id, me, text)
    return await _after_change(request, business_id)


@post("/recommendations/{business_id:int}/withdraw", guards=[requires_member])
async def withdraw(request: Request, business_id: int) -> Response:
    if await queries.own(business_id, request.user.id) is None:
        raise NotFound()
    await queries.withdraw(business_id, request.user.id)
    return await _after_change(request, business_id)


async def _word_of(request: Request, business_id: int, form: Form) -> tuple[dict, dict]:
    """The recommendation named by the form, among those the viewer sees on this entry."""
    _business, area = await _visible_business(request, business_id)
    word_id = parse_id(form["recommendation"])
    blocked = set(await blocked_ids(request.user))
    words = {w["id"]: w for w in await queries.words(business_id, area) if w["author"] not in blocked}
    if word_id not in words:
        raise NotFound()
    return words[word_id], await queries.recommendation_by_id(word_id)


@post("/recommendations/{business_id:int}/report", guards=[requires_member])
async def report(request: Request, business_id: int) -> Response:
    """The panel's inline form; a bad answer comes back on the one report page,
    with the message at the field and what was written kept."""
    form, reason, text = await read_report(request)
    word, _row = await _word_of(request, business_id, form)
    if form.errors:
        target = {
            "kind": "recommendation",
            "text": word["text"] or "",
            "action": f"/recommendations/{business_id}/report",
            "back": f"/recommendations/{business_id}#said-{word['id']}",
            "hidden": {"recommendation": word["id"]},
        }
        return report_page(request, target, form, status_code=422)
    await reports.report_other(
        request.user, "recommend", word["id"], word["neighbourhood"], word["author"], reason, text
    )
    return see_other(f"/recommendations/{business_id}?notice=reported")


@post("/recommendations/{business_id:int}/hide", guards=[requires_member])
async def hide(request: Request, business_id: int) -> Response:
    form = Form(await request.form())
    _word, row = await _word_of(request, business_id, form)
    if not await access.can_hide_recommendation(request.user, row):
        raise Forbidden()
    reason = form.text("reason", max_length=500, required=False) or _("Masquée par la modération")
    await queries.hide(request.user, row, reason)
    return await _after_change(request, business_id)


@get("/recommendations/said/{recommendation_id:int}", guards=[requires_member])
async def said(request: Request, recommendation_id: int) -> Response:
    """A recommendation named by the moderation queue: its entry's page."""
    word = await queries.recommendation_by_id(recommendation_id)
    if word is None or not await access.can_hide_recommendation(request.user, word):
        raise NotFound()
    return see_other(f"/recommendations/{word['business']}#said-{recommendation_id}")


ROUTES = [said, listing, new, similar, create, entry, me_too, withdraw, report, hide]
