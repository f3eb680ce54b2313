"""Invitations: a member's personal link to their quartier, the flyer and the
letter that carry it to mailboxes, and an invitation by email.

The invitation page is public and shows only the quartier, how many
neighbours it has (or awaits) and the inviter's first name. An address typed
for an email invitation is used to send it and then forgotten: it is written
in no table and no log.
"""

from __future__ import annotations

import segno
from litestar import Controller, Request, Response, get, post
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


async def _own_invitation(request: Request) -> dict:
    me = request.user
    neighbourhood = await neighbourhoods.by_id(me.neighbourhood)
    url = f"{get_settings().base_url}/invite/{await queries.link_code(me.id, neighbourhood.id)}"
    return {
        "neighbourhood": neighbourhood,
        "neighbours_text": neighbours_text(neighbourhood),
        "url": url,
        "qr": qr_svg(url),
        "threshold": neighbourhoods.OPENING_THRESHOLD,
    }


class InvitationController(Controller):
    path = "/invite"

    @get("/", guards=[requires_member])
    async def mine(self, request: Request) -> Response:
        context = await _own_invitation(request)
        context.update(form=Form(), joined=await queries.accepted_count(request.user.id))
        return render(request, "invitations/mine.html", context)

    @get("/flyer", guards=[requires_member])
    async def flyer(self, request: Request) -> Response:
        return render(request, "invitations/flyer.html", await _own_invitation(request))

    @get("/letter", guards=[requires_member])
    async def letter(self, request: Request) -> Response:
        return render(request, "invitations/letter.html", await _own_invitation(request))

    @post("/email", guards=[requires_member])
    async def by_email(self, request: Request) -> Response:
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
        context = await _own_invitation(request)
        if form.errors:
            context.update(form=form, joined=await queries.accepted_count(me.id))
            return render(request, "invitations/mine.html", context, status_code=422)
        response = see_other("/invite?sent=1")
        # Written now, in the member's language; the address lives on only in this task.
        response.background = BackgroundTask(send_mail, address, *_invitation_mail(me.first_name, context))
        return response

    @get("/{code:str}")
    async def invitation(self, request: Request, code: str) -> Response:
        invited = await queries.invitation(code)
        if invited is None:
            raise NotFound()
        return render(
            request,
            "invitations/invite.html",
            {
                "invitation": invited,
                "neighbourhood": invited.neighbourhood,
                "neighbours_text": neighbours_text(invited.neighbourhood),
                "threshold": neighbourhoods.OPENING_THRESHOLD,
            },
        )


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


ROUTES = [InvitationController]
