"""Login, logout, settings, password reset, email confirmation (signup:
app.accounts.signup_routes)."""

from __future__ import annotations

import math
from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from app.access import requires_login, suspension
from app.accounts import lockout, mails, queries, sessions
from app.accounts.passwords import hash_password, password_problem, verify_password
from app.forms import Form
from app.i18n import LOCALES, _, ngettext
from app.web import client_ip, limit, render, safe_next, see_other


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
        await limit(f"login-ip:{client_ip(request)}", 30, 300)
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
        token = await sessions.start_session(
            user.id, request.headers.get("user-agent", ""), replacing=sessions.session_token(request)
        )
        to = safe_next(form["next"]) if user.neighbourhood else "/signup/address"
        response = sessions.logged_in(token, to)
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
    form.error(
        "password",
        ngettext(
            "Trop d'essais pour ce compte. Réessayez dans %(num)s minute depuis cet appareil, "
            "ou choisissez un nouveau mot de passe avec « Mot de passe oublié ? ».",
            "Trop d'essais pour ce compte. Réessayez dans %(num)s minutes depuis cet appareil, "
            "ou choisissez un nouveau mot de passe avec « Mot de passe oublié ? ».",
            minutes,
        ),
    )
    return render(
        request,
        "accounts/login.html",
        {"form": form},
        status_code=429,
        headers={"Retry-After": str(math.ceil(wait.total_seconds()))},
    )


class SettingsController(Controller):
    path = "/settings"
    guards = [requires_login]

    @get("/")
    async def settings_page(self, request: Request) -> Response:
        return render(
            request, "accounts/settings.html", {"form": Form({"locale": request.user.locale}), "password_form": Form()}
        )

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
        await limit(f"password:{user.id}", 10, 900)
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
            return render(
                request,
                "accounts/settings.html",
                {"form": Form({"locale": user.locale}), "password_form": form},
                status_code=422,
            )
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
        await limit(f"confirm:{user.id}", 3, 3600)
        response = see_other("/settings?notice=confirmation_sent")
        if user.email_confirmed_at is None:
            response.background = BackgroundTask(mails.send_confirmation, user.id, user.email, user.first_name)
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
        await limit(f"reset:{client_ip(request)}", 5, 900)
        # The same answer, at the same speed, whether or not the account exists:
        # the lookup and the mail happen after the response is sent.
        response = see_other("/password/forgot?notice=reset_sent")
        response.background = BackgroundTask(mails.send_reset, email)
        return response

    @get("/reset")
    async def reset_form(self, request: Request, token: str = "") -> Response:
        valid = bool(token) and await queries.peek_token(token, "reset_password") is not None
        return render(
            request,
            "accounts/password_reset.html",
            {"form": Form({"token": token}), "valid": valid},
            status_code=200 if valid else 400,
        )

    @post("/reset")
    async def reset(self, request: Request) -> Response:
        form = Form(await request.form())
        await limit(f"reset-use:{client_ip(request)}", 20, 900)
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
        response = sessions.logged_in(token, "/feed?notice=password_reset")
        response.set_cookie(lockout.device_cookie(request, user_id))
        return response


class EmailController(Controller):
    path = "/email"

    # GET only shows a button: mail scanners open links, and a GET must not change anything.
    @get("/confirm")
    async def confirm_form(self, request: Request, token: str = "") -> Response:
        valid = bool(token) and await queries.peek_token(token, "confirm_email") is not None
        return render(
            request, "accounts/email_confirm.html", {"token": token, "valid": valid}, status_code=200 if valid else 400
        )

    @post("/confirm")
    async def confirm(self, request: Request) -> Response:
        form = Form(await request.form())
        user_id = await queries.use_token(form["token"], "confirm_email") if form["token"] else None
        if user_id is None:
            return render(request, "accounts/email_confirm.html", {"token": "", "valid": False}, status_code=400)
        await queries.confirm_email(user_id)
        return see_other("/settings?notice=email_confirmed" if request.user else "/login?notice=email_confirmed")
