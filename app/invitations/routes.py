"""Invitations: a member's personal link to their quartier, the flyer and the
letter that carry it to mailboxes, and an invitation by email.

The invitation page is public and shows only the quartier, how many
neighbours it has (or awaits) and the inviter's first name. An address typed
for an email invitation is used to send it and then forgotten: it is written
in no table and no log.
"""

from __future__ import annotations

import segno
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from markupsafe import Markup

from app import ratelimits
from app.access import NotFound, requires_member
from app.forms import Form
from app.i18n import _, ngettext
from app.invitations import queries
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from app.notify.mail import send_mail
from app.settings import get_settings
from app.web import render, see_other

# Enough for a member's own street, too few to make Voisinage a spam relay.
MAILS_PER_DAY = 10


def neighbours_text(neighbourhood: Neighbourhood) -> str:
    if neighbourhood.status == "forming":
        return ngettext(
            "%(num)s voisin sur %(threshold)s pour ouvrir",
            "%(num)s voisins sur %(threshold)s pour ouvrir",
            neighbourhood.member_count,
            threshold=neighbourhoods.OPENING_THRESHOLD,
        )
    return ngettext("%(num)s voisin inscrit", "%(num)s voisins inscrits", neighbourhood.member_count)


def qr_svg(url: str) -> Markup:
    # The SVG's size comes from the stylesheet (viewBox only), and segno
    # writes presentation attributes, never `style=`: the CSP allows it inline.
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(border=4, omitsize=True, svgclass="qr", lineclass=None, title=url))


def _showing(code: str | None, neighbourhood: Neighbourhood) -> dict:
    url = f"{get_settings().base_url}/invite/{code}" if code else None
    return {
        "code": code,
        "neighbourhood": neighbourhood,
        "neighbours_text": neighbours_text(neighbourhood),
        "url": url,
        "qr": qr_svg(url) if url else None,
        "threshold": neighbourhoods.OPENING_THRESHOLD,
    }


async def _own_invitation(request: Request, form: Form, *, make: bool = False) -> dict:
    """The member's page; `make` (POST only) stores their link if they have none yet."""
    me = request.user
    neighbourhood = await neighbourhoods.by_id(me.neighbourhood)
    code = await (queries.make_link if make else queries.link_code)(me.id, neighbourhood.id)
    context = _showing(code, neighbourhood)
    context.update(form=form, joined=await queries.accepted_count(me.id))
    return context


async def _invitation(code: str) -> dict:
    invited = await queries.invitation(code)
    if invited is None:
        raise NotFound()
    context = _showing(code, invited.neighbourhood)
    context.update(first_name=invited.first_name)
    return context


@get("/invitations", guards=[requires_member])
async def mine(request: Request) -> Response:
    return render(request, "invitations/mine.html", await _own_invitation(request, Form()))


@post("/invitations/link", guards=[requires_member])
async def make_link(request: Request) -> Response:
    # The link is stored when the member asks for it, so that viewing their page never writes.
    await queries.make_link(request.user.id, request.user.neighbourhood)
    return see_other("/invitations")


@post("/invitations", guards=[requires_member])
async def by_email(request: Request) -> Response:
    me = request.user
    form = Form(await request.form())
    address = form.email("email")
    if not form.errors and not await ratelimits.hit(f"invite-mail:{me.id}", MAILS_PER_DAY, 24 * 3600):
        form.error(
            "email",
            ngettext(
                "Vous avez déjà envoyé %(num)s invitation aujourd'hui : c'est le maximum. "
                "Réessayez demain, ou donnez votre lien de la main à la main.",
                "Vous avez déjà envoyé %(num)s invitations aujourd'hui : c'est le maximum. "
                "Réessayez demain, ou donnez votre lien de la main à la main.",
                MAILS_PER_DAY,
            ),
        )
    # The mail carries the link: sending it makes the link if the member had none.
    context = await _own_invitation(request, form, make=not form.errors)
    if form.errors:
        return render(request, "invitations/mine.html", context, status_code=422)
    response = see_other("/invitations?notice=invitation_sent")
    # Written now, in the member's language; the address lives on only in this task.
    response.background = BackgroundTask(send_mail, address, *_invitation_mail(me.first_name, context))
    return response


@get("/invite/{code:str}")
async def invitation(request: Request, code: str) -> Response:
    return render(request, "invitations/invite.html", await _invitation(code))


# The flyer and the letter show what the invitation page shows, for paper:
# whoever holds the link may print them.
@get("/invite/{code:str}/flyer")
async def flyer(request: Request, code: str) -> Response:
    return render(request, "invitations/flyer.html", await _invitation(code))


@get("/invite/{code:str}/letter")
async def letter(request: Request, code: str) -> Response:
    return render(request, "invitations/letter.html", await _invitation(code))


def _invitation_mail(first_name: str, context: dict) -> tuple[str, str]:
    neighbourhood = context["neighbourhood"]
    subject = _(
        "%(name)s vous invite à rejoindre le quartier %(neighbourhood)s sur Voisinage",
        name=first_name,
        neighbourhood=neighbourhood.name,
    )
    body = _(
        "Bonjour,\n\n%(name)s, qui habite le quartier %(neighbourhood)s à %(city)s, vous invite à rejoindre "
        "Voisinage, le réseau du quartier : dons, prêts, entraide et événements entre voisins.\n\n"
        "%(count)s.\n\nPour découvrir le quartier et vous inscrire, ouvrez ce lien :\n%(link)s\n\n"
        "À l'inscription, votre adresse est vérifiée : elle vous place dans votre quartier "
        "et n'est montrée à personne.\n\n"
        "Voisinage n'a pas gardé votre adresse e-mail : sans inscription de votre part, "
        "vous ne recevrez plus rien.\n\nL'équipe Voisinage",
        name=first_name,
        neighbourhood=neighbourhood.name,
        city=neighbourhood.city,
        count=context["neighbours_text"],
        link=context["url"],
    )
    return subject, body


ROUTES = [mine, make_link, by_email, invitation, flyer, letter]
