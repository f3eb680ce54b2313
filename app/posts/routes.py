"""The neighbourhood feed, annonces, photos, replies and loans."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException

from app.access import (
    blocked_ids,
    can_moderate,
    posting_refusal,
    reply_refusal,
    requires_member,
)
from app.alerts import queries as alerts
from app.civility import needs_nudge
from app.forms import Form
from app.groups.posting import group_to_post_in, tell_members
from app.i18n import _
from app.neighbourhoods import nearby
from app.neighbourhoods import newcomers as welcome
from app.neighbourhoods import queries as neighbourhoods
from app.notify.queries import notify
from app.polls import fields as poll_fields
from app.polls import queries as polls
from app.posts import loans, opening, queries, removal, saved, saved_routes, thanks_routes, view
from app.posts.kinds import KINDS, SINGULAR, SKILLS, STATUSES, display_name
from app.posts.live import live_replies
from app.posts.page import own_post, render_post, visible_post
from app.posts.photo_routes import photo
from app.posts.photos import MAX_BYTES, MAX_PHOTOS, encode_all
from app.posts.prices import price_input, read_price
from app.rides import queries as rides
from app.rides.fields import FIELDS as RIDE_FIELDS
from app.rides.fields import form_values as ride_form_values
from app.rides.fields import read_ride
from app.templating import kept_fragment
from app.uploads import UPLOAD_MAX_BODY, UploadedFile, UploadForm, upload_form
from app.web import limit, parse_id, render, see_other, wants_fragment

TITLE_MAX = 120
BODY_MAX = 5000
REPLY_MAX = 2000


def _feed_url(kind: str | None, q: str | None, before: int | None, tier: int = 1, around: bool = False) -> str:
    from urllib.parse import urlencode

    # tier 2: the search is past the title matches, in the body matches.
    params = {
        k: v
        for k, v in (
            ("kind", kind),
            ("q", q),
            ("nearby", 1 if around else None),
            ("tier", tier if tier == 2 else None),
            ("before", before),
        )
        if v
    }
    return "/feed" + ("?" + urlencode(params) if params else "")


class FeedController(Controller):
    guards = [requires_member]

    @get("/feed")
    async def feed(self, request: Request) -> Response:
        user = request.user
        neighbourhood = await neighbourhoods.current(user.neighbourhood)
        if neighbourhood.status == "forming":
            return render(
                request,
                "neighbourhoods/forming.html",
                {"neighbourhood": neighbourhood, "threshold": neighbourhoods.OPENING_THRESHOLD},
            )
        kind = request.query_params.get("kind") or None
        if kind not in KINDS:
            kind = None
        q = " ".join((request.query_params.get("q") or "").split())[:100]
        before = parse_id(request.query_params.get("before"))
        # "Avec les quartiers voisins": what their neighbours showed to this quartier joins the feed.
        around = request.query_params.get("nearby") == "1" and neighbourhood.nearby_count > 0 and not q
        blocked = await blocked_ids(user)
        pinned: list[dict] = []
        names: dict[int, str] = {}
        newcomers: tuple = ()
        newcomer_count = 0
        if q:
            tier = 2 if request.query_params.get("tier") == "2" else 1
            posts, cursor = await queries.search_page(
                neighbourhood.id, user.id, q, before=before, tier=tier, blocked=blocked
            )
            view.highlight(posts, q)
            next_url = _feed_url(kind, q, cursor[1], cursor[0]) if cursor else None
        elif around:
            names = {n["id"]: n["name"] for n in await nearby.listed(neighbourhood.id)}
            posts, next_cursor = await queries.feed_page(
                neighbourhood.id, user.id, kind=kind, before=before, blocked=blocked, nearby=list(names)
            )
            next_url = _feed_url(kind, q, next_cursor, around=True) if next_cursor else None
        elif kind or before:
            posts, next_cursor = await queries.feed_page(
                neighbourhood.id, user.id, kind=kind, before=before, blocked=blocked
            )
            next_url = _feed_url(kind, q, next_cursor) if next_cursor else None
        else:
            # The opening: its cards come with what they say for this reader (thanks, saved).
            pinned, posts, next_cursor = await opening.first_page(neighbourhood.id, user.id, blocked)
            newcomers, newcomer_count = await welcome.newcomers(neighbourhood.id, user, blocked)
            next_url = _feed_url(kind, q, next_cursor) if next_cursor else None
        if q or around or kind or before:
            await saved.annotate(user.id, posts)
        fragment = wants_fragment(request)
        # The quartier's urgent alerts, on top of the whole page only.
        shown_alerts = () if fragment else tuple(tuple(a.items()) for a in await alerts.showing(neighbourhood.id))

        def make_context() -> dict:
            return {
                "neighbourhood": neighbourhood,
                "posts": view.decorate(posts, names),
                "pinned": view.decorate(pinned),
                "kind": kind,
                "q": q,
                "around": around,
                "next_url": next_url,
                "newcomers": newcomers,
                "newcomer_count": newcomer_count,
                "alerts": [dict(a) for a in shown_alerts],
                "alert_categories": alerts.CATEGORIES,
            }

        # Everything the feed shows is in its rows (the reader's saved state and
        # thanks included) and these values: the same key, the same HTML.
        key = None
        if not q:
            key = (
                neighbourhood.id,
                neighbourhood.name,
                neighbourhood.city,
                neighbourhood.member_count,
                neighbourhood.nearby_count > 0,
                kind,
                around,
                next_url,
                tuple(names.items()),
                # The rows' values under their names, named once (every row has the same).
                tuple(pinned[0]) if pinned else (),
                tuple(tuple(p.values()) for p in pinned),
                tuple(posts[0]) if posts else (),
                tuple(tuple(p.values()) for p in posts),
                newcomers,
                newcomer_count,
                shown_alerts,
            )
        body = kept_fragment(request, "posts/_page.html" if fragment else "posts/_feed_body.html", key, make_context)
        return render(
            request, "posts/feed.html", {"neighbourhood": neighbourhood, "content": body}, fragment="_kept.html"
        )


def _details_form(form: Form, kind: str) -> dict:
    details: dict = {}
    if kind in ("lend", "borrow"):
        days = form.integer("loan_days", minimum=1, maximum=90, required=kind == "lend")
        if days:
            details["loan_days"] = days
    if kind == "help_request":
        skill = form.choice("skill", tuple(SKILLS), required=False)
        if skill:
            details["skill"] = skill
    if kind == "lost_found":
        where = form.text("where", max_length=120, required=False)
        if where:
            details["where"] = where
    return details


def _validate(form: Form, kind: str) -> tuple[str, str, dict]:
    title = form.text("title", max_length=TITLE_MAX, min_length=3)
    body = form.text("body", max_length=BODY_MAX, multiline=True)
    return title, body, _details_form(form, kind)


def _price(form: Form, kind: str) -> int | None:
    """A sale's price in cents; None for « Prix libre » (and for other kinds)."""
    if kind != "sale" or form["price_free"] == "1":
        return None
    return read_price(form)


def _civility_check(form: Form, text: str) -> None:
    if form["confirmed_civility"] != "1" and needs_nudge(text):
        form.error(
            "body", _("Votre message pourrait blesser. Voulez-vous reformuler ? Vous pouvez aussi l'envoyer tel quel.")
        )
        form.values["nudged"] = True


def _chosen_photos(upload: UploadForm, form: Form) -> list[UploadedFile]:
    if upload.chosen["photos"] > MAX_PHOTOS:
        form.error(
            "photos", _("%(n)s photos au plus (vous en avez choisi %(m)s).", n=MAX_PHOTOS, m=upload.chosen["photos"])
        )
        return []
    return upload.files.get("photos", [])


async def _create_post(request: Request, upload: UploadForm) -> Response:
    user = request.user
    await limit(f"post:{user.id}", 20, 3600)
    neighbourhood = await neighbourhoods.by_id(user.neighbourhood)
    form = Form(upload.fields)
    kind = form.choice("kind", tuple(k for k in KINDS if k != "event"))
    if "kind" in form.errors:
        raise NotFoundException()
    if neighbourhood.status != "open":
        return see_other("/feed")
    refusal = posting_refusal(user, neighbourhood)
    if refusal:
        return render(
            request,
            "posts/new.html",
            {"form": form, "kind": kind, "refusal": refusal, **await _form_choices(request)},
            status_code=403,
        )
    group = await group_to_post_in(user, form["group"])
    title, body, details = _validate(form, kind)
    poll = poll_fields.read_poll(form) if kind == "discussion" and poll_fields.wanted(form) else None
    price = _price(form, kind)
    ride = read_ride(form) if kind == "ride" else None
    photos = _chosen_photos(upload, form)
    if not form.errors:
        _civility_check(form, f"{title}\n{body}")
    encoded = await encode_all(photos, form, "photos") if not form.errors else []
    if form.errors:
        return render(
            request,
            "posts/new.html",
            {"form": form, "kind": kind, **await _form_choices(request)},
            fragment="posts/_form.html",
            status_code=422,
        )
    shown_to_nearby = form["nearby"] == "1" and not group
    if ride:
        post_id = await rides.create_ride(
            author=user, title=title, body=body, photos=encoded, nearby=shown_to_nearby, group=group, **ride
        )
    elif poll:
        post_id = await polls.create_discussion(
            author=user,
            title=title,
            body=body,
            details=details,
            photos=encoded,
            poll=poll,
            nearby=shown_to_nearby,
            group=group,
        )
    else:
        post_id = await queries.create_post(
            author=user,
            kind=kind,
            title=title,
            body=body,
            details=details,
            photos=encoded,
            price_cents=price,
            nearby=shown_to_nearby,
            group=group,
        )
    if group:
        await tell_members(group, user, post_id, title)
    # A group's help request stays among its members: the quartier's skilled neighbours could not open it.
    if kind == "help_request" and details.get("skill") and not group:
        helpers = await queries.helpers_for(neighbourhood.id, details["skill"])
        await notify(
            helpers,
            "help_match",
            url=f"/posts/{post_id}",
            actor_id=user.id,
            params={"who": display_name(user.first_name, user.last_name), "title": title},
        )
    return see_other(f"/posts/{post_id}")


class PostController(Controller):
    guards = [requires_member]

    @get("/posts/new")
    async def new(self, request: Request) -> Response:
        kind = request.query_params.get("kind") or ""
        if kind == "event":
            return see_other("/events/new")
        neighbourhood = await neighbourhoods.by_id(request.user.neighbourhood)
        if neighbourhood.status != "open":
            return see_other("/feed")
        if kind not in KINDS:
            group = parse_id(request.query_params.get("group"))
            # Events are published from /events, outside groups.
            kinds = [k for k in KINDS if k != "event"] if group else KINDS
            return render(request, "posts/choose_kind.html", {"kinds": kinds, "group": group})
        refusal = posting_refusal(request.user, neighbourhood)
        group = request.query_params.get("group") or ""
        if group:
            await group_to_post_in(request.user, group)
        return render(
            request,
            "posts/new.html",
            {
                "form": Form(
                    {"kind": kind, "group": group, **(poll_fields.defaults() if kind == "discussion" else {})}
                ),
                "kind": kind,
                "refusal": refusal,
                **await _form_choices(request),
            },
        )

    @post("/posts", request_max_body_size=UPLOAD_MAX_BODY, exclude_from_csrf=True)
    async def create(self, request: Request) -> Response:
        async with upload_form(request, caps={"photos": MAX_PHOTOS}, max_file_bytes=MAX_BYTES) as upload:
            return await _create_post(request, upload)

    @get("/posts/validate")
    async def validate(self, request: Request) -> Response:
        """One field checked while the neighbour types (htmx); the full check
        runs again on submit, with or without JavaScript."""
        form = Form(request.query_params)
        name = form["field"]
        kind = form["kind"] if form["kind"] in KINDS else "give"
        _validate(form, kind)
        if name == "price":
            _price(form, "sale")
        elif name in RIDE_FIELDS:
            read_ride(form)
        elif name not in ("title", "body", "loan_days", "skill", "where"):
            raise NotFoundException()
        return render(request, "posts/_field_error.html", {"name": name, "error": form.errors.get(name, "")})

    @get("/posts/{post_id:int}")
    async def show(self, request: Request, post_id: int) -> Response:
        found, moderator = await visible_post(request, post_id)
        return await render_post(request, found, moderator, Form())

    @get("/posts/{post_id:int}/edit")
    async def edit_form(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        if found["kind"] == "event":
            return see_other(f"/events/{post_id}/edit")
        data = {
            "title": found["title"],
            "body": found["body"],
            "kind": found["kind"],
            "nearby": "1" if found["nearby"] else "",
        }
        for key, value in (found.get("details") or {}).items():
            data[key] = str(value)
        poll = await _poll_of(found)
        if poll:
            data.update(poll_fields.from_poll(poll, await polls.options_of(poll["id"])))
        if found["kind"] == "ride":
            data.update(ride_form_values(await rides.for_post(post_id)))
        if found["kind"] == "sale":
            data["price"] = price_input(found["price_cents"])
            data["price_free"] = "1" if found["price_cents"] is None else ""
        return render(
            request,
            "posts/edit.html",
            {
                "form": Form(data),
                "post": found,
                "kind": found["kind"],
                **_poll_context(poll),
                **await _form_choices(request),
            },
        )

    @post("/posts/{post_id:int}/edit")
    async def edit(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        if found["kind"] == "event":
            return see_other(f"/events/{post_id}/edit")
        form = Form(await request.form())
        title, body, details = _validate(form, found["kind"])
        poll = await _poll_of(found)
        # Once someone has voted, the options stay as they were voted on.
        draft = poll_fields.read_poll(form) if poll and not poll["voter_count"] else None
        if draft and not form.errors and not await polls.replace_options(poll["id"], draft):
            poll = await _poll_of(found)
            form.error("poll_options", _("Des voisins viennent de voter : les options ne peuvent plus changer."))
        price = _price(form, found["kind"])
        trip = read_ride(form) if found["kind"] == "ride" else None
        if trip and not form.errors:
            try:
                await rides.update_ride(post_id, title=title, body=body, nearby=form["nearby"] == "1", **trip)
            except rides.RideClosed as refused:
                form.error("seats", str(refused))
        if form.errors:
            return render(
                request,
                "posts/edit.html",
                {
                    "form": form,
                    "post": found,
                    "kind": found["kind"],
                    **_poll_context(poll),
                    **await _form_choices(request),
                },
                status_code=422,
            )
        if not trip:
            await queries.update_post(
                post_id, title=title, body=body, details=details, nearby=form["nearby"] == "1", price_cents=price
            )
        return see_other(f"/posts/{post_id}")

    @post("/posts/{post_id:int}/delete")
    async def delete(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        await removal.delete_post(found, actor_id=request.user.id)
        return see_other("/feed?notice=post_deleted")

    @post("/posts/{post_id:int}/status")
    async def status(self, request: Request, post_id: int) -> Response:
        found = await own_post(request, post_id)
        form = Form(await request.form())
        allowed = STATUSES.get(found["kind"], {})
        wanted = form["status"]
        if found["kind"] == "lend" and wanted == "lent":
            borrower = form.integer("borrower", minimum=1, maximum=2**31 - 1)
            due_on = _date(form, "due_on")
            if borrower and borrower not in await queries.participants(post_id):
                form.error("borrower", _("Choisissez une personne qui a répondu à l'annonce."))
            if form.errors:
                return await _show_with_errors(request, found, form)
            await loans.lend(post_id, request.user.id, borrower, due_on)
            await notify(
                [borrower],
                "loan",
                url=f"/posts/{post_id}",
                actor_id=request.user.id,
                params={
                    "what": "lent",
                    "who": display_name(request.user.first_name, request.user.last_name),
                    "title": found["title"],
                    "due": due_on.isoformat(),
                },
            )
        elif found["kind"] == "lend" and wanted == "returned":
            await loans.returned(post_id)
        elif wanted in allowed:
            await queries.set_status(post_id, wanted)
        else:
            form.error("status", _("Choisissez une des options proposées."))
            return await _show_with_errors(request, found, form)
        return see_other(f"/posts/{post_id}")

    @post("/posts/{post_id:int}/replies")
    async def reply(self, request: Request, post_id: int) -> Response:
        user = request.user
        found, moderator = await visible_post(request, post_id)
        await limit(f"reply:{user.id}", 60, 3600)
        form = Form(await request.form())
        body = form.text("body", max_length=REPLY_MAX, multiline=True)
        refusal = reply_refusal(user, found)
        if refusal:
            form.error("body", refusal)
        if not form.errors:
            _civility_check(form, body)
        if form.errors:
            return await _thread(request, found, moderator, form, status_code=422)
        _reply_id, earlier = await queries.add_reply(post_id, user.id, body)
        who = display_name(user.first_name, user.last_name)
        url = f"/posts/{post_id}#replies"
        if found["author"]:
            await notify(
                [found["author"]],
                "reply_to_post",
                url=url,
                actor_id=user.id,
                params={"who": who, "title": found["title"]},
            )
        await notify(
            [u for u in earlier if u != found["author"]],
            "reply_in_thread",
            url=url,
            actor_id=user.id,
            params={"who": who, "title": found["title"]},
        )
        if wants_fragment(request):
            return await _thread(request, found, moderator, Form())
        return see_other(url)


def _date(form: Form, field: str) -> date | None:
    value = form.day(field)
    if value is None:
        return None
    today = datetime.now(queries.PARIS).date()
    if value < today:
        form.error(field, _("Cette date est déjà passée."))
    elif value > today + timedelta(days=365):
        form.error(field, _("Un an au plus."))
    return value


async def _thread(request: Request, found: dict, moderator: bool, form: Form, status_code: int = 200) -> Response:
    replies = await queries.replies_of(found["id"], await blocked_ids(request.user))
    context = {"post": found, "replies": replies, "form": form, "moderator": moderator}
    return render(request, "posts/thread.html", context, fragment="posts/_thread.html", status_code=status_code)


async def _show_with_errors(request: Request, found: dict, form: Form) -> Response:
    return await render_post(request, found, await can_moderate(request.user, found["neighbourhood"]), form, 422)


async def _poll_of(found: dict) -> dict | None:
    return await polls.for_post(found["id"]) if found["kind"] == "discussion" else None


def _poll_context(poll: dict | None) -> dict:
    return {"poll": poll, "poll_locked": bool(poll and poll["voter_count"])}


async def _form_choices(request: Request) -> dict:
    neighbourhood = await neighbourhoods.current(request.user.neighbourhood)
    has_nearby = neighbourhood is not None and neighbourhood.nearby_count > 0
    return {"skills": SKILLS, "kinds": KINDS, "singular": SINGULAR, "has_nearby": has_nearby}


ROUTES = [FeedController, PostController, photo, live_replies, *thanks_routes.ROUTES, *saved_routes.ROUTES]
