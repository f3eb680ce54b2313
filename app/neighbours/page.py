"""The page of one neighbour's profile, as every domain shows it: the
profile routes, and the trust and moderation routes that show it again with
their form's messages. What neighbours need to trust each other, never the
address.
"""

from __future__ import annotations

from litestar import Request, Response

from app.access import can_moderate_member, has_blocked, suspension, vouch_offered
from app.forms import Form
from app.invitations import queries as invitations
from app.neighbourhoods import queries as neighbourhoods
from app.neighbours import profile_photos
from app.neighbours.trust import has_vouched
from app.posts import loans as lending
from app.posts import queries as posts
from app.posts import thanks, view
from app.posts.kinds import SKILLS, skills_of
from app.web import render


async def profile_context(request: Request, person, *, i_blocked: bool | None = None) -> dict:
    from app.moderation.members import DURATIONS

    me = request.user
    if i_blocked is None:
        i_blocked = await has_blocked(me.id, person.id)
    open_posts = (
        [] if i_blocked else (await posts.feed_page(person.neighbourhood, me.id, author=person.id, limit=10))[0]
    )
    view.decorate(open_posts)
    loans = await lending.loans_of(person.id) if person.id == me.id else []
    is_me = person.id == me.id
    return {
        "profile": person,
        "photo": await profile_photos.name_of(person.id),
        "neighbourhood": await neighbourhoods.by_id(person.neighbourhood),
        "open_posts": open_posts,
        "loans": loans,
        "skills": SKILLS,
        "i_blocked": i_blocked,
        "offered": skills_of(person),
        "is_me": is_me,
        "helped": await thanks.helped_count(person.id),
        # Said to the inviter only: "grâce à vous".
        "invited_count": await invitations.accepted_count(me.id) if is_me else 0,
        # Moderators get their controls on the ordinary profile page.
        "moderator": await can_moderate_member(me, person),
        "suspended": suspension(person) is not None,
        "durations": DURATIONS,
        "mod_form": Form(),
        "vouch_offered": vouch_offered(me, person),
        # Asked only when the vouch button could show.
        "vouched": vouch_offered(me, person) and await has_vouched(me.id, person.id),
    }


async def profile_with_errors(request: Request, member, form: Form) -> Response:
    """The profile page again, with the trust or moderation form's messages and input kept."""
    context = await profile_context(request, member)
    context["mod_form"] = form
    return render(request, "neighbours/profile.html", context, status_code=422)
