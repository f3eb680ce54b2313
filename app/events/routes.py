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
    }


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
        return render(request, "events/new.html", {"form": form, "refusal": refusal}, status_code=403)
    group = await group_to_post_in(user, form["group"])
    values = _validate(form, creating=True)
    photos = await encode_all(upload.files.get("photo", []), form, "photo") if not form.errors else []
    if form.errors:
        return render(request, "events/new.html", {"form": form}, status_code=422)
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
            {"form": Form({"group": group}), "refusal": posting_refusal(request.user, neighbourhood)},
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
            request, "events/edit.html", {"form": _form_from_event(found, event), "post": found, "event": event}
        )

    @post("/events/{post_id:int}/edit")
    async def edit(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        form = Form(await request.form())
        values = _validate(form, creating=False)
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
            return render(request, "events/edit.html", {"form": form, "post": found, "event": event}, status_code=422)
        moved = await queries.update_event(post_id, **values)
        if moved:
            await notify(
                await queries.people_signed_up(event["id"]),
                "event",
                url=f"/posts/{post_id}",
                actor_id=request.user.id,
                params={
                    "what": "moved",
                    "title": values["title"],
                    "when": values["starts_at"].isoformat(),
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

    @post("/posts/{post_id:int}/signup")
    async def sign_up(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        await limit(f"signup:{request.user.id}", 60, 3600)
        try:
            await queries.sign_up(event["id"], request.user.id)
        except queries.EventClosed as closed:
            return await _answer(request, found, str(closed), status_code=422)
        return await _answer(request, found)

    @post("/posts/{post_id:int}/signup/cancel")
    async def withdraw(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        await queries.leave(event["id"], request.user.id)
        return await _answer(request, found)

    @get("/posts/{post_id:int}/event.ics")
    async def one_ics(self, request: Request, post_id: int) -> Response:
        found, _moderator = await visible_post(request, post_id)
        event = await queries.for_post(post_id)
        if event is None:
            raise NotFoundException()
        row = {**event, "event_id": event["id"], "id": post_id, "title": found["title"], "body": found["body"]}
        body = ics.build([row], base_url=get_settings().base_url, name=found["title"])
        return _calendar_response(body, f"evenement-{post_id}.ics")

    @post("/events/calendar")
    async def new_calendar_link(self, request: Request) -> Response:
        """A fresh private link; the previous one stops working."""
        token = secrets.token_urlsafe(24)
        await User.update({User.calendar_token_hash: _hash(token)}).where(User.id == request.user.id)
        url = f"{get_settings().base_url}/events.ics?token={token}"
        return render(request, "events/calendar.html", {"url": url})


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
    body = ics.build(events, base_url=get_settings().base_url, name=f"Voisinage · {neighbourhood.name}")
    return _calendar_response(body, "quartier.ics")


ROUTES = [EventController, neighbourhood_calendar]
