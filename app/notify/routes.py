"""In-app notifications (list, unread badge, mark read), web push subscriptions
and the notification settings page."""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Response as PlainResponse

from app.access import requires_login
from app.forms import Form
from app.i18n import _, current_locale
from app.notify import mail_outbox, preferences, queries
from app.notify.push import checked_target, endpoint_problem, keys_problem, vapid_keys
from app.notify.tables import PushSubscription
from app.notify.text import describe
from app.web import limit, parse_id, render, see_other, wants_fragment


class NotificationController(Controller):
    guards = [requires_login]

    @get("/notifications")
    async def index(self, request: Request) -> Response:
        rows, older = await queries.latest(request.user.id, before_id=parse_id(request.query_params.get("before")))
        for row in rows:
            row["text"] = describe(row["kind"], row["params"], current_locale.get())
        return render(
            request,
            "notify/notifications.html",
            {"notifications": rows, "older": older, "unread": request.user.unread_notifications},
        )

    @get("/notifications/badge")
    async def badge(self, request: Request) -> Response:
        # Polled by the header every minute: the count came with the session, no query of its own.
        return render(request, "notify/_badge.html", headers={"Cache-Control": "private, no-store"})

    @post("/notifications/read")
    async def read(self, request: Request) -> Response:
        form = Form(await request.form())
        await queries.mark_read(request.user.id, parse_id(form["id"]))
        if wants_fragment(request):
            # The count read with the session is from before this change.
            request.user.unread_notifications = await queries.unread_count(request.user.id)
            return render(request, "notify/_badge.html")
        return see_other("/notifications")

    @get("/settings/notifications")
    async def settings_page(self, request: Request) -> Response:
        return await _settings(request, await preferences.user_preferences(request.user.id))

    @post("/settings/notifications")
    async def save_settings(self, request: Request) -> Response:
        form = Form(await request.form())
        # Only the known kinds and values are read: nothing else of the account can change here.
        await preferences.save_preferences(
            request.user.id, {key: form[key] for key in (*preferences.PREFERENCES, "digest", "alert")}
        )
        return see_other("/settings/notifications?notice=saved")

    @post("/settings/notifications/mail")
    async def resume_mail(self, request: Request) -> Response:
        """After a refusal the person fixed their address (or their mailbox): mail starts again."""
        await mail_outbox.resume_address(request.user.id)
        return see_other("/settings/notifications?notice=mail_on")


async def _settings(request: Request, prefs: dict[str, str]) -> Response:
    devices = await PushSubscription.count().where(PushSubscription.user == request.user.id)
    return render(
        request,
        "notify/settings.html",
        {
            "prefs": prefs,
            "labels": preferences.PREFERENCES,
            "channels": preferences.CHANNELS,
            "digests": preferences.DIGESTS,
            "alerts": preferences.ALERTS,
            "devices": devices,
        },
    )


class UnsubscribeController(Controller):
    """The link of every notification mail and digest (List-Unsubscribe, RFC 8058):
    no session, a signed token. GET only shows the button; the POST, from the
    mail client's one click or that button, answers 200 without a redirect."""

    path = "/mail/unsubscribe"

    @get("/{token:str}")
    async def confirm(self, request: Request, token: str) -> Response:
        found = preferences.read_unsubscribe_token(token)
        return _unsubscribe_page(request, found, token, done=False)

    @post("/{token:str}", exclude_from_csrf=True)
    async def unsubscribe(self, request: Request, token: str) -> Response:
        found = preferences.read_unsubscribe_token(token)
        if found:
            await preferences.stop_mail(*found)
        return _unsubscribe_page(request, found, token, done=True)


def _unsubscribe_page(request: Request, found: tuple[int, str] | None, token: str, *, done: bool) -> Response:
    kind = found[1] if found else ""
    label = preferences.PREFERENCES.get(kind) or {
        "digest": preferences.DIGEST_LABEL,
        "alert": preferences.ALERT_LABEL,
    }.get(kind, "")
    return render(
        request,
        "notify/unsubscribe.html",
        {"valid": bool(found), "done": done, "label": label, "token": token},
        status_code=200 if found else 400,
        headers={"Cache-Control": "no-store"},
    )


def _problem(message: str, status: int = 422) -> Response:
    return PlainResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


class PushController(Controller):
    """Called by static/app.js once the neighbour has tapped « Activer les notifications »."""

    path = "/push"
    guards = [requires_login]

    @get("/key")
    async def key(self, request: Request) -> Response:
        return PlainResponse(
            {"key": vapid_keys(request.app.state.settings).application_server_key},
            headers={"Cache-Control": "no-store"},
        )

    @post("/subscriptions")
    async def subscribe(self, request: Request) -> Response:
        await limit(f"push:{request.user.id}", 20, 3600)
        data = await _subscription_data(request)
        endpoint = str(data.get("endpoint") or "")
        keys = data.get("keys") if isinstance(data.get("keys"), dict) else data
        p256dh, auth = str(keys.get("p256dh") or ""), str(keys.get("auth") or "")
        if keys_problem(p256dh, auth):
            return _problem(_("Les clés de chiffrement de cet appareil ne sont pas valides."))
        # Resolved now, checked now, remembered for the sends that follow.
        target = await checked_target(endpoint, request.app.state.settings)
        if target.problem == "unresolvable":
            return _problem(_("Le service de notification de cet appareil est injoignable. Réessayez plus tard."), 503)
        if target.problem:
            return _problem(_("Cette adresse de notification n'est pas acceptée."))
        agent = (request.headers.get("user-agent") or "")[:200]
        existing = (
            await PushSubscription.select(PushSubscription.id).where(PushSubscription.endpoint == endpoint).first()
        )
        if existing:
            # The same browser, perhaps now used by someone else: it follows whoever subscribed last.
            await PushSubscription.update(
                {
                    PushSubscription.user: request.user.id,
                    PushSubscription.p256dh: p256dh,
                    PushSubscription.auth: auth,
                    PushSubscription.user_agent: agent,
                    PushSubscription.failures: 0,
                }
            ).where(PushSubscription.id == existing["id"])
        else:
            await PushSubscription.insert(
                PushSubscription(user=request.user.id, endpoint=endpoint, p256dh=p256dh, auth=auth, user_agent=agent)
            )
        return PlainResponse({"ok": True}, status_code=201, headers={"Cache-Control": "no-store"})

    @post("/subscriptions/delete")
    async def unsubscribe(self, request: Request) -> Response:
        data = await _subscription_data(request)
        endpoint = str(data.get("endpoint") or "")
        if endpoint:
            # A malformed endpoint was never stored: nothing to delete (nor a NUL to send PostgreSQL).
            if endpoint_problem(endpoint, request.app.state.settings) != "malformed":
                await PushSubscription.delete().where(
                    (PushSubscription.endpoint == endpoint) & (PushSubscription.user == request.user.id)
                )
        else:  # the settings page's button without JavaScript: this person's every device
            await PushSubscription.delete().where(PushSubscription.user == request.user.id)
        if request.headers.get("content-type", "").startswith("application/json"):
            return PlainResponse({"ok": True}, headers={"Cache-Control": "no-store"})
        return see_other("/settings/notifications?notice=push_off")


# A browser's subscription is some 500 bytes of JSON.
SUBSCRIPTION_MAX = 16 * 1024


async def _subscription_data(request: Request) -> dict:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        if len(body) > SUBSCRIPTION_MAX:
            raise RequestEntityTooLarge()
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            data = {}
        return data if isinstance(data, dict) else {}
    form = await request.form()
    return {key: form.get(key) for key in ("endpoint", "p256dh", "auth") if isinstance(form.get(key), str)}


ROUTES = [NotificationController, PushController, UnsubscribeController]
