"""Signup (two steps), login, logout, settings, password reset, email confirmation."""

from __future__ import annotations

import math
from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from app.access import requires_login, requires_signup_step, suspension
from app.accounts import lockout, queries, sessions
from app.accounts.geocoding import GeocoderUnavailable, sign_candidate, unsign_candidate
from app.accounts.passwords import hash_password, password_problem, verify_password
from app.forms import Form
from app.i18n import LOCALES, _, current_locale, ngettext, speaking
from app.neighbourhoods import queries as hoods
from app.notify.mail import send_mail
from app.settings import get_settings
from app.web import client_ip, limit, render, safe_next, see_other

RESET_TTL = timedelta(hours=1)
CONFIRM_TTL = timedelta(days=7)


def _logged_in(token: str, to: str) -> Response:
    response = see_other(to)
    response.set_cookie(sessions.session_cookie(token))
    return response


async def _send_confirmation(user_id: int, email: str, first_name: str) -> None:
    token = await queries.create_token(user_id, "confirm_email", CONFIRM_TTL)
    link = f"{get_settings().base_url}/email/confirm?token={token}"
    await send_mail(
        email,
        _("Confirmez votre adresse e-mail sur Voisinage"),
        _(
            "Bonjour %(name)s,\n\nPour confirmer votre adresse e-mail, ouvrez ce lien :\n%(link)s\n\n"
            "Si vous n'êtes pas à l'origine de cette inscription, ignorez ce message.\n\nL'équipe Voisinage",
            name=first_name,
            link=link,
        ),
    )


async def _send_reset(email: str) -> None:
    user = await queries.user_by_email(email)
    if user is None:
        return
    token = await queries.create_token(user.id, "reset_password", RESET_TTL)
    link = f"{get_settings().base_url}/password/reset?token={token}"
    await send_mail(
        user.email,
        _("Réinitialiser votre mot de passe Voisinage"),
        _(
            "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien dans l'heure :\n%(link)s\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.\n\nL'équipe Voisinage",
            name=user.first_name,
            link=link,
        ),
    )


async def _send_signup_attempt(email: str) -> None:
    """Step 1 named an address that already has an account: its owner hears
    of it, in their own language, and the person signing up learns nothing."""
    user = await queries.user_by_email(email)
    if user is None:
        return
    base = get_settings().base_url
    with speaking(user.locale):
        await send_mail(
            user.email,
            _("Quelqu'un a voulu s'inscrire sur Voisinage avec votre adresse e-mail"),
            _(
                "Bonjour %(name)s,\n\nQuelqu'un vient d'essayer de créer un compte Voisinage avec votre adresse e-mail. "
                "Vous en avez déjà un : aucun autre compte n'a été créé et le vôtre n'a pas changé.\n\n"
                "Si c'était vous, connectez-vous :\n%(login)s\n\n"
                "Mot de passe oublié ? Choisissez-en un nouveau :\n%(reset)s\n\n"
                "Si ce n'était pas vous, ignorez ce message.\n\nL'équipe Voisinage",
                name=user.first_name,
                login=f"{base}/login",
                reset=f"{base}/password/forgot",
            ),
        )


class SignupController(Controller):
    path = "/signup"

    @get("/")
    async def signup_form(self, request: Request) -> Response:
        user = request.user
        if user is not None or sessions.signup_pending(request):
            return see_other("/feed" if user and user.neighbourhood else "/signup/address")
        return render(request, "accounts/signup.html", {"form": Form()})

    @post("/")
    async def signup(self, request: Request) -> Response:
        limit(request, f"signup:{client_ip(request)}", 10, 3600)
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
            return render(request, "accounts/signup.html", {"form": form}, status_code=422)
        # Whether the email is taken, the answer is the same, as fast (a hash
        # either way), with a cookie of the same shape: only the mail differs.
        password_hash = await hash_password(password)
        user = None
        if not await queries.email_taken(email):
            try:
                user = await queries.create_user(
                    first_name=first, last_name=last, email=email, password_hash=password_hash, locale=current_locale.get(),
                )
            except ValueError:
                pass  # another signup took the address meanwhile: its owner gets the mail
        replacing = sessions.session_token(request)
        if user is None:
            response = _logged_in(await sessions.start_pending_signup(replacing=replacing), "/signup/address")
            # One such mail an hour: repeated signups must not flood the owner.
            if request.app.state.limiter.hit(f"signup-taken-mail:{email}", 1, 3600):
                response.background = BackgroundTask(_send_signup_attempt, email)
            return response
        token = await sessions.start_session(user.id, request.headers.get("user-agent", ""), replacing=replacing)
        response = _logged_in(token, "/signup/address")
        response.background = BackgroundTask(_send_confirmation, user.id, user.email, user.first_name)
        return response

    @get("/address", guards=[requires_signup_step])
    async def address_form(self, request: Request, q: str = "") -> Response:
        form = Form({"q": q})
        candidates = await _candidates(request, form, q) if q.strip() else []
        return render(
            request,
            "accounts/address.html",
            {"form": form, "candidates": candidates, "searched": bool(q.strip())},
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
            return render(request, "accounts/address.html", {"form": form, "candidates": candidates, "searched": bool(q)}, status_code=422)
        hood = await hoods.containing(chosen.lat, chosen.lon)
        if hood is not None or form["join_waitlist"] == "1":
            if user is None:
                return await _pending_signup_done(request)
            if hood is not None:
                await hoods.join(user, hood, chosen.label, chosen.lat, chosen.lon)
                return see_other("/feed?notice=welcome")
            await hoods.join_waitlist(user, chosen.label, chosen.lat, chosen.lon, chosen.city, chosen.postcode)
            return see_other("/feed?notice=waitlist")
        form.error(
            "candidate",
            _("Aucun quartier Voisinage ne couvre encore cette adresse. Inscrivez-vous sur la liste d'attente : "
              "le quartier ouvrira dès que %(n)s voisins à moins de 800 m l'auront rejoint.", n=hoods.OPENING_THRESHOLD),
        )
        return render(
            request,
            "accounts/address.html",
            {"form": form, "candidates": [chosen], "searched": True, "outside": chosen,
             "signed": {chosen.label: form["candidate"]}},
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
        form.error("q", _("Adresse introuvable. Vérifiez le numéro, la rue et la ville (exemple : 12 rue de la Liberté, Dijon)."))
    secret = get_settings().secret_key
    form.values["signed"] = {c.label: sign_candidate(c, secret) for c in found}
    return found


class SessionController(Controller):
    @get("/login")
    async def login_form(self, request: Request, next: str = "") -> Response:
        if request.user is not None or sessions.signup_pending(request):
            return see_other(safe_next(next))
        return render(request, "accounts/login.html", {"form": Form({"next": next})})

    @post("/login")
    async def login(self, request: Request) -> Response:
        form = Form(await request.form())
        email = form.email()
        password = form.data.get("password", "")
        limit(request, f"login-ip:{client_ip(request)}", 30, 300)
        if not password:
            form.error("password", _("Ce champ est obligatoire."))
        if form.errors:
            return render(request, "accounts/login.html", {"form": form}, status_code=422)
        user = await queries.user_by_email(email)
        # A device the owner logged in from before skips the account's lockout
        # (unless its own cookie is locked): see app.accounts.lockout.
        nonce = lockout.known_accounts(request).get(user.id) if user else None
        trusted = nonce is not None and await lockout.wait_for(lockout.device_key(nonce)) is None
        if not trusted and (wait := await lockout.wait_for(lockout.account_key(email))):
            return _locked_out(request, form, wait)
        ok = await verify_password(user.password_hash if user else None, password)
        if not ok or user is None:
            await lockout.record_failure(lockout.device_key(nonce) if trusted else lockout.account_key(email))
            form.error("password", _("Adresse e-mail ou mot de passe incorrect."))
            return render(request, "accounts/login.html", {"form": form}, status_code=422)
        if suspension(user, at=sessions.now()):
            form.error("email", _("Ce compte est suspendu. Un message vous a été envoyé avec la raison et la durée."))
            return render(request, "accounts/login.html", {"form": form}, status_code=422)
        token = await sessions.start_session(user.id, request.headers.get("user-agent", ""), replacing=sessions.session_token(request))
        to = safe_next(form["next"]) if user.neighbourhood else "/signup/address"
        response = _logged_in(token, to)
        response.set_cookie(lockout.device_cookie(request, user.id))
        return response

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        await sessions.end_session(sessions.session_token(request))
        response = see_other("/?notice=logged_out")
        # Drops what the service worker cached for this person on a shared phone.
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return sessions.clear_session_cookie(response)


def _locked_out(request: Request, form: Form, wait: timedelta) -> Response:
    minutes = math.ceil(wait.total_seconds() / 60)
    form.error("password", ngettext(
        "Trop d'essais pour ce compte. Réessayez dans %(num)s minute depuis cet appareil, "
        "ou choisissez un nouveau mot de passe avec « Mot de passe oublié ? ».",
        "Trop d'essais pour ce compte. Réessayez dans %(num)s minutes depuis cet appareil, "
        "ou choisissez un nouveau mot de passe avec « Mot de passe oublié ? ».",
        minutes,
    ))
    return render(request, "accounts/login.html", {"form": form}, status_code=429,
                  headers={"Retry-After": str(math.ceil(wait.total_seconds()))})


class SettingsController(Controller):
    path = "/settings"
    guards = [requires_login]

    @get("/")
    async def settings_page(self, request: Request) -> Response:
        return render(request, "accounts/settings.html", {"form": Form({"locale": request.user.locale}), "password_form": Form()})

    @post("/")
    async def save(self, request: Request) -> Response:
        form = Form(await request.form())
        locale = form.choice("locale", ("", *LOCALES), required=False)
        if form.errors:
            return render(request, "accounts/settings.html", {"form": form, "password_form": Form()}, status_code=422)
        await queries.set_locale(request.user.id, locale)
        return see_other("/settings?notice=saved")

    @post("/password")
    async def change_password(self, request: Request) -> Response:
        user = request.user
        form = Form(await request.form())
        limit(request, f"password:{user.id}", 10, 900)
        current, new = form.data.get("current_password", ""), form.data.get("new_password", "")
        if not current:
            form.error("current_password", _("Ce champ est obligatoire."))
        elif not await verify_password(user.password_hash, current):
            form.error("current_password", _("Ce n'est pas votre mot de passe actuel."))
        if not new:
            form.error("new_password", _("Ce champ est obligatoire."))
        elif problem := password_problem(new, email=user.email, names=(user.first_name, user.last_name)):
            form.error("new_password", problem)
        if form.errors:
            return render(request, "accounts/settings.html", {"form": Form({"locale": user.locale}), "password_form": form}, status_code=422)
        await queries.set_password(user.id, await hash_password(new))
        await sessions.end_other_sessions(user.id, sessions.session_token(request))
        return see_other("/settings?notice=password_changed")

    @post("/logout-others")
    async def logout_others(self, request: Request) -> Response:
        await sessions.end_other_sessions(request.user.id, sessions.session_token(request))
        return see_other("/settings?notice=others_logged_out")

    @post("/confirm-email")
    async def resend_confirmation(self, request: Request) -> Response:
        user = request.user
        limit(request, f"confirm:{user.id}", 3, 3600)
        response = see_other("/settings?notice=confirmation_sent")
        if user.email_confirmed_at is None:
            response.background = BackgroundTask(_send_confirmation, user.id, user.email, user.first_name)
        return response


class PasswordResetController(Controller):
    path = "/password"

    @get("/forgot")
    async def forgot_form(self, request: Request) -> Response:
        return render(request, "accounts/password_forgot.html", {"form": Form()})

    @post("/forgot")
    async def forgot(self, request: Request) -> Response:
        form = Form(await request.form())
        email = form.email()
        if form.errors:
            return render(request, "accounts/password_forgot.html", {"form": form}, status_code=422)
        limit(request, f"reset:{client_ip(request)}", 5, 900)
        # The same answer, at the same speed, whether or not the account exists:
        # the lookup and the mail happen after the response is sent.
        response = see_other("/password/forgot?notice=reset_sent")
        response.background = BackgroundTask(_send_reset, email)
        return response

    @get("/reset")
    async def reset_form(self, request: Request, token: str = "") -> Response:
        valid = bool(token) and await queries.peek_token(token, "reset_password") is not None
        return render(
            request, "accounts/password_reset.html", {"form": Form({"token": token}), "valid": valid},
            status_code=200 if valid else 400,
        )

    @post("/reset")
    async def reset(self, request: Request) -> Response:
        form = Form(await request.form())
        limit(request, f"reset-use:{client_ip(request)}", 20, 900)
        password = form.data.get("password", "")
        row = await queries.peek_token(form["token"], "reset_password") if form["token"] else None
        if row is None:
            return render(request, "accounts/password_reset.html", {"form": form, "valid": False}, status_code=400)
        user = await queries.user_by_id(row.user)
        if not password:
            form.error("password", _("Ce champ est obligatoire."))
        elif problem := password_problem(password, email=user.email, names=(user.first_name, user.last_name)):
            form.error("password", problem)
        if form.errors:
            return render(request, "accounts/password_reset.html", {"form": form, "valid": True}, status_code=422)
        user_id = await queries.use_token(form["token"], "reset_password")
        if user_id is None:
            return render(request, "accounts/password_reset.html", {"form": form, "valid": False}, status_code=400)
        await queries.set_password(user_id, await hash_password(password))
        # Whoever knew the old password is out, everywhere; guesses at the old one no longer count.
        await sessions.end_all_sessions(user_id)
        await lockout.forget(lockout.account_key(user.email))
        token = await sessions.start_session(user_id, request.headers.get("user-agent", ""))
        response = _logged_in(token, "/feed?notice=password_reset")
        response.set_cookie(lockout.device_cookie(request, user_id))
        return response


class EmailController(Controller):
    path = "/email"

    # GET only shows a button: mail scanners open links, and a GET must not change anything.
    @get("/confirm")
    async def confirm_form(self, request: Request, token: str = "") -> Response:
        valid = bool(token) and await queries.peek_token(token, "confirm_email") is not None
        return render(request, "accounts/email_confirm.html", {"token": token, "valid": valid}, status_code=200 if valid else 400)

    @post("/confirm")
    async def confirm(self, request: Request) -> Response:
        form = Form(await request.form())
        user_id = await queries.use_token(form["token"], "confirm_email") if form["token"] else None
        if user_id is None:
            return render(request, "accounts/email_confirm.html", {"token": "", "valid": False}, status_code=400)
        await queries.confirm_email(user_id)
        return see_other("/settings?notice=email_confirmed" if request.user else "/login?notice=email_confirmed")
