"""Signup, in two steps: who you are, then where you live (the address is
checked and places you in your quartier, or on its waiting list)."""

from __future__ import annotations

import contextlib

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from app import ratelimits
from app.access import requires_signup_step
from app.accounts import mails, queries, sessions
from app.accounts.geocoding import GeocoderUnavailable, sign_candidate, unsign_candidate
from app.accounts.passwords import hash_password, password_problem
from app.forms import Form
from app.i18n import _, current_locale
from app.invitations import queries as invitations
from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.settings import get_settings
from app.web import client_ip, limit, render, see_other, wants_fragment


class SignupController(Controller):
    path = "/signup"

    @get("/")
    async def signup_form(self, request: Request) -> Response:
        user = request.user
        if user is not None or sessions.signup_pending(request):
            return see_other("/feed" if user and user.neighbourhood else "/signup/address")
        form = Form({"invite": request.query_params.get("invite", "")[:40]})
        return render(request, "accounts/signup.html", {"form": form, "invited": await _invited(form)})

    @post("/")
    async def signup(self, request: Request) -> Response:
        await limit(f"signup:{client_ip(request)}", 10, 3600)
        form = Form(await request.form())
        first = form.text("first_name", max_length=60)
        last = form.text("last_name", max_length=60)
        email = form.email()
        password = form.data.get("password", "")
        if not password:
            form.error("password", _("Ce champ est obligatoire."))
        elif problem := password_problem(password, email=email, names=(first, last)):
            form.error("password", problem)
        if form.errors:
            context = {"form": form, "invited": await _invited(form)}
            return render(request, "accounts/signup.html", context, status_code=422)
        # Whether the email is taken, the answer is the same, as fast (a hash
        # either way), with a cookie of the same shape: only the mail differs.
        password_hash = await hash_password(password)
        user = None
        if not await queries.email_taken(email):
            # ValueError: another signup took the address meanwhile; its owner gets the mail.
            with contextlib.suppress(ValueError):
                user = await queries.create_user(
                    first_name=first,
                    last_name=last,
                    email=email,
                    password_hash=password_hash,
                    locale=current_locale.get(),
                )
        replacing = sessions.session_token(request)
        if user is None:
            response = sessions.logged_in(await sessions.start_pending_signup(replacing=replacing), "/signup/address")
            # One such mail an hour: repeated signups must not flood the owner.
            if await ratelimits.hit(f"signup-taken-mail:{email}", 1, 3600):
                response.background = BackgroundTask(mails.send_signup_attempt, email)
            return response
        if form["invite"]:
            await invitations.record_signup(form["invite"], user.id)
        token = await sessions.start_session(user.id, request.headers.get("user-agent", ""), replacing=replacing)
        response = sessions.logged_in(token, "/signup/address")
        response.background = BackgroundTask(mails.send_confirmation, user.id, user.email, user.first_name)
        return response

    @get("/address", guards=[requires_signup_step])
    async def address_form(self, request: Request, q: str = "") -> Response:
        form = Form({"q": q})
        candidates = await _candidates(request, form, q) if q.strip() else []
        return render(
            request,
            "accounts/address.html",
            {
                "form": form,
                "candidates": candidates,
                "searched": bool(q.strip()),
                # The page's own line; the candidates a typing person gets never show it.
                "invited": await _invitation_of(request) if not wants_fragment(request) else None,
            },
            fragment="accounts/_candidates.html",
            status_code=422 if form.errors and not _is_typing(request) else 200,
        )

    @post("/address", guards=[requires_signup_step])
    async def address(self, request: Request) -> Response:
        user = request.user
        form = Form(await request.form())
        q = form.text("q", max_length=200, required=False)
        chosen = unsign_candidate(form["candidate"], get_settings().secret_key) if form["candidate"] else None
        candidates = []
        if chosen is None:
            if form["candidate"]:
                # Offer the genuine candidates again next to the message.
                candidates = await _candidates(request, form, q) if q else []
                form.error("candidate", _("Cette adresse n'a pas pu être vérifiée. Choisissez-la à nouveau."))
            elif not q:
                form.error("q", _("Indiquez votre adresse : numéro, rue et ville."))
            else:
                candidates = await _candidates(request, form, q)
                if candidates:
                    form.error("candidate", _("Choisissez votre adresse dans la liste."))
            return render(
                request,
                "accounts/address.html",
                {"form": form, "candidates": candidates, "searched": bool(q), "invited": await _invitation_of(request)},
                status_code=422,
            )
        neighbourhood = await neighbourhoods.containing(chosen.lat, chosen.lon)
        if neighbourhood is not None or form["join_waitlist"] == "1" or await _invited_there(user, chosen):
            if user is None:
                return await _pending_signup_done(request)
            if neighbourhood is not None:
                await neighbourhoods.join(user, neighbourhood, chosen.label, chosen.lat, chosen.lon)
                await invitations.accept(user.id, neighbourhood.id)
                return see_other("/feed?notice=welcome")
            waiting = await neighbourhoods.join_waitlist(
                user, chosen.label, chosen.lat, chosen.lon, chosen.city, chosen.postcode
            )
            await invitations.accept(user.id, waiting.id)
            return see_other("/feed?notice=waitlist")
        form.error("candidate", await _waiting_list_offer(chosen.lat, chosen.lon))
        return render(
            request,
            "accounts/address.html",
            {
                "form": form,
                "candidates": [chosen],
                "searched": True,
                "outside": chosen,
                "signed": {chosen.label: form["candidate"]},
                # Most needed here: the address lies outside the quartier of the invitation.
                "invited": await _invitation_of(request),
            },
            status_code=422,
        )

    @get("/check-email")
    async def check_email(self, request: Request) -> Response:
        return render(request, "accounts/signup_check_email.html")


async def _pending_signup_done(request: Request) -> Response:
    """The end of a signup whose email already has an account: nothing joins
    a quartier; the person is sent to the mail its owner received."""
    await sessions.end_session(sessions.session_token(request))
    return sessions.clear_session_cookie(see_other("/signup/check-email"))


async def _invited(form: Form):
    """The quartier of the invitation the signup came from, shown as chosen already."""
    invited = await invitations.invitation(form["invite"]) if form["invite"] else None
    return invited.neighbourhood if invited else None


async def _invited_there(user, chosen) -> bool:
    """Invited to a forming quartier and living inside it: joining its waiting
    list needs no second question, the invitation asked it."""
    invited = await invitations.invited_to(user.id) if user else None
    return bool(invited and invited.status == "forming" and geometry.contains(invited.boundary, chosen.lat, chosen.lon))


def _is_typing(request: Request) -> bool:
    # Candidates fetched while typing are not an error yet: a 422 would only
    # make the browser console noisy for a half-typed street.
    return request.headers.get("hx-request") == "true"


async def _candidates(request: Request, form: Form, q: str) -> list:
    if len(q.strip()) < 3:
        form.error("q", _("Tapez au moins 3 caractères."))
        return []
    if len(q) > 200:
        form.error("q", _("%(n)s caractères au plus (vous en avez écrit %(m)s).", n=200, m=len(q)))
        return []
    try:
        found = await request.app.state.geocoder.search(q, limit=5)
    except GeocoderUnavailable:
        form.error("q", _("Le service de vérification des adresses ne répond pas. Réessayez dans un instant."))
        return []
    if not found:
        found = await request.app.state.geocoder.suggest(q)
        form.values["suggested"] = bool(found)
    if not found:
        form.error(
            "q",
            _("Adresse introuvable. Vérifiez le numéro, la rue et la ville (exemple : 12 rue de la Liberté, Dijon)."),
        )
    secret = get_settings().secret_key
    form.values["signed"] = {c.label: sign_candidate(c, secret) for c in found}
    return found


async def _waiting_list_offer(lat: float, lon: float) -> str:
    """What joining the waiting list means at this address: the IRIS (or commune) it lies in when the
    operator imported them, else a circle of 800 m around the neighbour (neighbourhoods.join_waitlist)."""
    n = neighbourhoods.OPENING_THRESHOLD
    area = await neighbourhoods.containing(lat, lon, status="forming")
    kind = area.area_kind if area is not None else ""
    if kind == "iris":
        return _(
            "Aucun quartier Voisinage n'est encore ouvert à cette adresse. Inscrivez-vous sur la liste d'attente "
            "de votre quartier « %(name)s » : il ouvrira dès que %(n)s de ses voisins s'y seront inscrits.",
            name=area.name,
            n=n,
        )
    if kind == "commune":
        return _(
            "Aucun quartier Voisinage n'est encore ouvert à cette adresse. Inscrivez-vous sur la liste d'attente "
            "de votre commune, %(name)s : le quartier ouvrira dès que %(n)s de ses habitants s'y seront inscrits.",
            name=area.name,
            n=n,
        )
    return _(
        "Aucun quartier Voisinage ne couvre encore cette adresse. Inscrivez-vous sur la liste d'attente : "
        "le quartier ouvrira dès que %(n)s voisins à moins de 800 m l'auront rejoint.",
        n=n,
    )


async def _invitation_of(request: Request):
    """The quartier a signing-up person was invited to, for the line the address page shows."""
    return await invitations.invited_to(request.user.id) if request.user else None
