"""Events: the calendar of the quartier, signing up, and .ics exports."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException

from app.access import can_moderate, posting_refusal, requires_member
from app.accounts.tables import User
from app.events import ics, queries
from app.events.panel import panel
from app.events.recurrence import MAX_DATES, MAX_SPAN, Rule, is_last_of_month, nth_of_month
from app.forms import Form
from app.groups.posting import group_to_post_in, tell_members
from app.i18n import _, ngettext
from app.neighbourhoods import queries as neighbourhoods
from app.notify.queries import notify
from app.posts.page import own_post, render_post, visible_post
from app.posts.photos import MAX_BYTES, encode_all
from app.settings import get_settings
from app.uploads import UPLOAD_MAX_BODY, UploadForm, upload_form
from app.web import limit, parse_id, render, see_other, wants_fragment

PARIS = ZoneInfo("Europe/Paris")
MAX_CAPACITY = 5000


def _validate(form: Form, *, creating: bool) -> dict:
    title = form.text("title", max_length=120, min_length=3)
    body = form.text("body", max_length=5000, multiline=True)
    place = form.text("place", max_length=200)
    starts_at = form.local_datetime("starts_at", PARIS)
    ends_at = form.local_datetime("ends_at", PARIS)
    capacity = form.integer("capacity", minimum=1, maximum=MAX_CAPACITY, required=False)
    now = datetime.now(timezone.utc)
    if starts_at and creating and starts_at < now:
        form.error("starts_at", _("Cette date est déjà passée."))
    if starts_at and starts_at > now + timedelta(days=730):
        form.error("starts_at", _("Deux ans à l'avance au plus."))
    if starts_at and ends_at and ends_at <= starts_at:
        form.error("ends_at", _("La fin doit venir après le début."))
    if starts_at and ends_at and ends_at - starts_at > timedelta(days=14):
        form.error("ends_at", _("Un événement dure deux semaines au plus."))
    return {
        "title": title,
        "body": body,
        "place": place,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "capacity": capacity,
        "nearby": form["nearby"] == "1",
    }


def _day(moment: datetime):
    return moment.astimezone(PARIS).date()


async def _nearby_choice(request: Request) -> dict:
    """Whether the form offers "Visible aussi par les quartiers voisins" (only where there are some)."""
    neighbourhood = await neighbourhoods.current(request.user.neighbourhood)
    return {"has_nearby": neighbourhood is not None and neighbourhood.nearby_count > 0}


REPEATS = ("", "weekly", "monthly", "monthly_last")


def _rule(form: Form, starts_at: datetime | None) -> Rule | None:
    """The series the form asks for, None for one date; errors at the field."""
    repeat = form.choice("repeat", REPEATS, required=False)
    if not repeat or "repeat" in form.errors:
        return None
    every = form.integer("repeat_every", minimum=1, maximum=4, required=False) or 1
    until = form.day("repeat_until") if form["repeat_until"].strip() else None
    count = form.integer("repeat_count", minimum=2, maximum=MAX_DATES, required=False)
    if until is None and count is None and "repeat_until" not in form.errors and "repeat_count" not in form.errors:
        form.error("repeat_until", _("Indiquez jusqu'à quand l'événement se répète, ou combien de fois."))
    if until is not None and count is not None:
        form.error("repeat_count", _("Indiquez une date de fin ou un nombre de fois, pas les deux."))
    if starts_at is None:
        return None
    first = starts_at.astimezone(PARIS).date()
    if until is not None and until <= first:
        form.error("repeat_until", _("La date de fin doit venir après le début."))
    if until is not None and until > first + MAX_SPAN:
        form.error("repeat_until", _("Un an au plus : choisissez une date plus proche."))
    nth = None
    if repeat == "monthly":
        nth = nth_of_month(first)
        if nth == 5:
            form.error(
                "repeat",
                _(
                    "Ce jour de la semaine tombe pour la 5e fois dans le mois, ce qui n'arrive pas chaque mois : choisissez « le dernier »."
                ),
            )
    elif repeat == "monthly_last":
        nth = -1
        if not is_last_of_month(first):
            form.error(
                "repeat",
                _(
                    "Le début n'est pas le dernier de ce jour de la semaine dans le mois : choisissez une autre date ou une autre répétition."
                ),
            )
    if form.errors:
        return None
    return Rule("weekly" if repeat == "weekly" else "monthly", every if repeat == "weekly" else 1, nth, until, count)


def _form_from_event(post: dict, event: dict) -> Form:
    fmt = "%Y-%m-%dT%H:%M"
    return Form(
        {
            "title": post["title"],
            "body": post["body"],
            "place": event["place"],
            "starts_at": event["starts_at"].astimezone(PARIS).strftime(fmt),
            "ends_at": event["ends_at"].astimezone(PARIS).strftime(fmt),
            "capacity": str(event["capacity"] or ""),
            "nearby": "1" if post["nearby"] else "",
        }
    )


async def _create_event(request: Request, upload: UploadForm) -> Response:
    user = request.user
    await limit(f"post:{user.id}", 20, 3600)
    neighbourhood = await neighbourhoods.by_id(user.neighbourhood)
    if neighbourhood.status != "open":
        return see_other("/feed")
    refusal = posting_refusal(user, neighbourhood)
    form = Form(upload.fields)
    if refusal:
        return render(
            request,
            "events/new.html",
            {"form": form, "refusal": refusal, **await _nearby_choice(request)},
            status_code=403,
        )
    group = await group_to_post_in(user, form["group"])
    values = _validate(form, creating=True)
    values["rule"] = _rule(form, values["starts_at"])
    photos = await encode_all(upload.files.get("photo", []), form, "photo") if not form.errors else []
    if form.errors:
        return render(request, "events/new.html", {"form": form, **await _nearby_choice(request)}, status_code=422)
    post_id = await queries.create_event(author=user, photos=photos, group=group, **values)
    if group:
        await tell_members(group, user, post_id, values["title"])
    return see_other(f"/posts/{post_id}")


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    """Where the next page starts, `<start, ISO with offset>_<event id>`, or
    None for anything else (the first page)."""
    stamp, _sep, event_id = (raw or "").rpartition("_")
    after_id = parse_id(event_id)
    try:
        start = datetime.fromisoformat(stamp)
        # Compared with timestamptz: without an offset it means nothing, and
        # an offset at the edge of time leaves the calendar.
        start = start.astimezone(timezone.utc) if start.tzinfo else None
    except (ValueError, OverflowError):
        return None
    return (start, after_id) if start and after_id else None


class EventController(Controller):
    guards = [requires_member]

    @get("/events")
    async def index(self, request: Request) -> Response:
        user = request.user
        now = datetime.now(timezone.utc)
        after = _cursor(request.query_params.get("after"))
        events, next_after = await queries.upcoming(user.neighbourhood, now, after=after)
        days: list[tuple[datetime, list[dict]]] = []
        for event in events:
            day = event["starts_at"].astimezone(PARIS).date()
            if not days or days[-1][0] != day:
                days.append((day, []))
            days[-1][1].append(event)
        past = [] if after else await queries.past(user.neighbourhood, now)
        next_url = (
            "/events?" + urlencode({"after": f"{next_after[0].isoformat()}_{next_after[1]}"}) if next_after else None
        )
        return render(
            request,
            "events/index.html",
            {
                "days": days,
                "past": past,
                "next_url": next_url,
                "neighbourhood": await neighbourhoods.current(user.neighbourhood),
            },
        )

    @get("/events/new")
    async def new(self, request: Request) -> Response:
        neighbourhood = await neighbourhoods.current(request.user.neighbourhood)
        # From a group's page: the event is the group's, for its members.
        group = request.query_params.get("group") or ""
        await group_to_post_in(request.user, group)
        return render(
            request,
            "events/new.html",
            {
                "form": Form({"group": group}),
                "refusal": posting_refusal(request.user, neighbourhood),
                **await _nearby_choice(request),
            },
        )

    @post("/events/new", request_max_body_size=UPLOAD_MAX_BODY, exclude_from_csrf=True)
    async def create(self, request: Request) -> Response:
        async with upload_form(request, caps={"photo": 1}, max_file_bytes=MAX_BYTES) as upload:
            return await _create_event(request, upload)

    @get("/events/{post_id:int}/edit")
    async def edit_form(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        return render(
            request,
            "events/edit.html",
            {"form": _form_from_event(found, event), "post": found, "event": event, **await _nearby_choice(request)},
        )

    @post("/events/{post_id:int}/edit")
    async def edit(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        form = Form(await request.form())
        values = _validate(form, creating=False)
        if event["repeat"] and values["starts_at"] and _day(values["starts_at"]) != _day(event["starts_at"]):
            # Its hours may change, every date with them; its days make its rule
            # (the 2nd Tuesday), and each date has its own signups.
            form.error(
                "starts_at",
                _("Une série garde ses jours : changez l'heure, ou annulez la série et créez-en une autre."),
            )
        if values["capacity"] is not None and values["capacity"] < event["going_count"]:
            form.error(
                "capacity",
                ngettext(
                    "%(num)s personne est déjà inscrite : gardez au moins une place.",
                    "%(num)s personnes sont déjà inscrites : gardez au moins autant de places.",
                    event["going_count"],
                ),
            )
        if form.errors:
            return render(
                request,
                "events/edit.html",
                {"form": form, "post": found, "event": event, **await _nearby_choice(request)},
                status_code=422,
            )
        moved = await queries.update_event(post_id, **values)
        if moved:
            # Each is told of the next date they are coming to.
            if event["repeat"]:
                told = await queries.next_dates_signed_up(event["id"], datetime.now(timezone.utc))
            else:
                told = {values["starts_at"]: await queries.people_signed_up(event["id"])}
            for when, people in told.items():
                await notify(
                    people,
                    "event",
                    url=f"/posts/{post_id}",
                    actor_id=request.user.id,
                    params={
                        "what": "moved",
                        "title": values["title"],
                        "when": when.isoformat(),
                        "place": values["place"],
                    },
                )
        return see_other(f"/posts/{post_id}")

    @post("/events/{post_id:int}/cancel")
    async def cancel(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        await queries.cancel_event(post_id, found["title"], actor_id=request.user.id)
        return see_other(f"/posts/{post_id}")

    @post("/events/{post_id:int}/dates/{occurrence_id:int}/cancel")
    async def cancel_date(self, request: Request, post_id: int, occurrence_id: int) -> Response:
        """The organiser cancels one date of a series; the people signed up for it are told."""
        found = await own_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None or await queries.occurrence(event["id"], occurrence_id) is None:
            raise NotFoundException()
        await queries.cancel_occurrence(event["id"], occurrence_id, found["title"], actor_id=request.user.id)
        return await _answer(request, found)

    @post("/posts/{post_id:int}/signup")
    async def sign_up(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        await limit(f"signup:{request.user.id}", 60, 3600)
        occurrence_id = await _occurrence_asked(request, event)
        try:
            await queries.sign_up(event["id"], request.user.id, occurrence_id=occurrence_id)
        except queries.EventClosed as closed:
            return await _answer(request, found, str(closed), status_code=422)
        return await _answer(request, found)

    @post("/posts/{post_id:int}/signup/cancel")
    async def withdraw(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        occurrence_id = await _occurrence_asked(request, event)
        await queries.leave(event["id"], request.user.id, occurrence_id=occurrence_id)
        return await _answer(request, found)

    @get("/posts/{post_id:int}/event.ics")
    async def one_ics(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        row = {**event, "event_id": event["id"], "id": post_id, "title": found["title"], "body": found["body"]}
        series = await queries.series_dates([event["id"]]) if event["repeat"] else None
        body = ics.build([row], base_url=get_settings().base_url, name=found["title"], series=series)
        return _calendar_response(body, f"evenement-{post_id}.ics")

    @post("/events/calendar")
    async def new_calendar_link(self, request: Request) -> Response:
        """A fresh private link; the previous one stops working."""
        token = secrets.token_urlsafe(24)
        await User.update({User.calendar_token_hash: _hash(token)}).where(User.id == request.user.id)
        url = f"{get_settings().base_url}/events.ics?token={token}"
        return render(request, "events/calendar.html", {"url": url})


async def _occurrence_asked(request: Request, event: dict) -> int | None:
    """The date of a series the form names (404 for none of its own); None for an event on one date."""
    if not event["repeat"]:
        return None
    occurrence_id = parse_id((await request.form()).get("occurrence"))
    if occurrence_id is None or await queries.occurrence(event["id"], occurrence_id) is None:
        raise NotFoundException()
    return occurrence_id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _answer(request: Request, found: dict, error: str = "", status_code: int = 200) -> Response:
    if wants_fragment(request):
        event = await queries.for_post(found["id"])
        context = await panel(event, found, request.user, error)
        return render(request, "events/_panel.html", context, status_code=status_code)
    if error:
        moderator = await can_moderate(request.user, found["neighbourhood"])
        return await render_post(request, found, moderator, Form(), status_code, event_error=error)
    return see_other(f"/posts/{found['id']}#event")


def _calendar_response(body: bytes, filename: str) -> Response:
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, max-age=300"},
    )


@get("/events.ics")
async def neighbourhood_calendar(request: Request) -> Response:
    """For calendar apps, which have no session: the private token is the key,
    and it opens only its owner's quartier."""
    token = request.query_params.get("token") or ""
    if not 10 <= len(token) <= 100:
        raise NotFoundException()
    owner = (
        await User.select(User.id, User.neighbourhood, User.suspended_until)
        .where(User.calendar_token_hash == _hash(token))
        .first()
    )
    if owner is None or owner["neighbourhood"] is None:
        raise NotFoundException()
    neighbourhood = await neighbourhoods.by_id(owner["neighbourhood"])
    events = await queries.calendar(neighbourhood.id, datetime.now(timezone.utc) - timedelta(days=30))
    series = await queries.series_dates([e["event_id"] for e in events if e["repeat"]])
    body = ics.build(events, base_url=get_settings().base_url, name=f"Voisinage · {neighbourhood.name}", series=series)
    return _calendar_response(body, "quartier.ics")


ROUTES = [EventController, neighbourhood_calendar]
