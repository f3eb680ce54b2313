"""The page of one post, as every domain shows it: which post the viewer may
see or change, and the page itself with what other domains add under the
post (the event's or the ride's panel, a discussion's poll; the moderators' controls, shown to moderators).

Events and moderation use this module, never app.posts.routes. The panels
are asked for by direct call: they run only here, on the page of one post,
never per item of a list, so they cannot cause N+1 queries in the feed.
"""

from __future__ import annotations

from litestar import Request, Response

from app.access import blocked_ids, ensure_can_edit_post, ensure_can_see_post, is_author
from app.accounts.tables import User
from app.events.panel import panel_for_post
from app.forms import Form
from app.neighbourhoods import queries as neighbourhoods
from app.polls.panel import panel_for_post as poll_panel_for_post
from app.posts import loans, queries, saved, thanks
from app.posts.kinds import SINGULAR, STATUSES, THANKED_KINDS
from app.rides.panel import panel_for_post as ride_panel_for_post
from app.settings import get_settings
from app.web import render


async def visible_post(request: Request, post_id: int) -> tuple[dict, bool]:
    """The post if the viewer may see it, and whether they moderate it; 404 otherwise."""
    found = await queries.post_by_id(post_id)
    rights = await ensure_can_see_post(request.user, found)
    return found, rights.moderate


async def own_post(request: Request, post_id: int) -> dict:
    """The post if the viewer wrote it; 404 otherwise."""
    found = await queries.post_by_id(post_id)
    await ensure_can_edit_post(request.user, found)
    return found


async def render_post(
    request: Request,
    found: dict,
    moderator: bool,
    form: Form,
    status_code: int = 200,
    *,
    event_error: str = "",
    poll_error: str = "",
    ride_error: str = "",
) -> Response:
    post_id = found["id"]
    mine = is_author(request.user, found)
    blocked = await blocked_ids(request.user)
    replies = await queries.replies_of(post_id, blocked)
    photos = await queries.photos_of(post_id) if found["photo_count"] else []
    loan = await loans.current_loan(post_id) if found["kind"] == "lend" else None
    candidates = []
    if mine and found["kind"] == "lend":
        # Whoever borrows it has answered the annonce: no address book to leak.
        ids = await queries.participants(post_id)
        if ids:
            candidates = await User.select(User.id, User.first_name, User.last_name).where(User.id.is_in(ids[:50]))
    thankable = mine and found["kind"] in THANKED_KINDS
    event_panel = await panel_for_post(found, request.user, event_error)
    # Seen from a quartier voisin (a moderator of the post's quartier is no reader from elsewhere).
    from_nearby = found["neighbourhood"] != request.user.neighbourhood and not moderator
    poll_panel = await poll_panel_for_post(found, request.user, poll_error)
    ride_panel = await ride_panel_for_post(found, request.user, ride_error)
    return render(
        request,
        "posts/show.html",
        {
            "post": found,
            "replies": replies,
            "photos": photos,
            "moderator": moderator,
            "mine": mine,
            "loan": loan,
            "candidates": candidates,
            "statuses": STATUSES.get(found["kind"], {}),
            "form": form,
            "singular": SINGULAR,
            "thanked": (await thanks.thanked_on([post_id])).get(post_id, []),
            "thankable": thankable,
            "thank_candidates": await thanks.candidates(found, blocked) if thankable else [],
            "saved": await saved.is_saved(request.user.id, post_id),
            # What « Partager » hands on: a non-member who opens it meets the login page.
            "share_url": f"{get_settings().base_url}/posts/{post_id}",
            "event_panel": event_panel is not None,
            "from_nearby": from_nearby,
            "post_quartier": await neighbourhoods.current(found["neighbourhood"]) if from_nearby else None,
            **(event_panel or {}),
            "poll_panel": poll_panel is not None,
            **(poll_panel or {}),
            "ride_panel": ride_panel is not None,
            **(ride_panel or {}),
        },
        status_code=status_code,
    )
