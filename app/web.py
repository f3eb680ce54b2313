"""What every handler shares: page-or-fragment rendering, redirects after
post, security headers, error pages, the client address and rate limits."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from app import space
from app.i18n import N_, _
from app.settings import get_settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    """A targeted htmx request gets the fragment; a boosted navigation, a
    history restore or a plain browser gets the whole page."""
    h = request.headers
    return (
        h.get("hx-request") == "true"
        and h.get("hx-boosted") != "true"
        and h.get("hx-history-restore-request") != "true"
        and h.get("hx-request-type", "partial") != "full"
    )


def render(
    request: Request,
    page: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    ctx = dict(context or {})
    # Fragments are rendered without base.html, which is where `me` is set for pages.
    ctx.setdefault("me", request.scope.get("user"))
    name = fragment if fragment and wants_fragment(request) else page
    return Template(
        template_name=name,
        context=ctx,
        status_code=status_code,
        headers={"Vary": "HX-Request", **(headers or {})},
    )


def see_other(url: str) -> Redirect:
    """Redirect after post: the browser GETs the result, reload never re-posts."""
    return Redirect(path=url, status_code=303)


def safe_next(url: str | None, default: str = "/feed") -> str:
    """Only same-site paths: an open redirect would turn our login page into a phishing aid."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return default
    return url


def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if get_settings().https:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    content_type = headers.get("content-type", "")
    # Pages carry personal data: neither shared caches nor the back-forward
    # cache of a shared computer should keep them.
    if content_type.startswith("text/html") and "cache-control" not in headers:
        headers["Cache-Control"] = "private, no-store"


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    trusted = get_settings().trusted_proxies
    if peer in trusted:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        # The right-most address not added by one of our proxies is the client.
        while hops and hops[-1] in trusted:
            hops.pop()
        if hops:
            return hops[-1]
    return peer


class RateLimiter:
    """Fixed-window counters in memory, bounded in size.

    In memory is enough for one server process (the default deployment); the
    windows are short, so a restart forgiving a few attempts costs nothing.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._max_keys = max_keys

    def hit(self, key: str, limit: int, window: float) -> bool:
        """Count one attempt; False when the limit is already reached."""
        now = time.monotonic()
        start, count = self._hits.get(key, (now, 0))
        if now - start >= window:
            start, count = now, 0
        if count >= limit:
            return False
        self._hits[key] = (start, count + 1)
        self._hits.move_to_end(key)
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        return True

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class TooManyRequests(HTTPException):
    status_code = 429


def limit(request: Request, key: str, limit: int, window: float) -> None:
    if not request.app.state.limiter.hit(key, limit, window):
        raise TooManyRequests(detail="rate")


# Error pages -----------------------------------------------------------------

ERROR_TITLES = {
    400: N_("Requête incorrecte"),
    403: N_("Action refusée"),
    404: N_("Page introuvable"),
    405: N_("Action impossible"),
    413: N_("Fichier trop volumineux"),
    429: N_("Trop de tentatives"),
    500: N_("Une erreur est survenue"),
    503: N_("Service momentanément indisponible"),
}


def _error_message(status: int, detail: str) -> str:
    if status == 403 and "CSRF" in detail:
        return _("Le formulaire a expiré. Rechargez la page et recommencez.")
    messages = {
        400: _("La requête n'a pas pu être comprise."),
        403: _("Vous n'avez pas le droit de faire cela."),
        404: _("Cette page n'existe pas ou n'est pas visible pour vous."),
        405: _("Cette action n'est pas possible ici."),
        413: _("Ce que vous avez envoyé est trop volumineux (15 Mo au plus par photo)."),
        429: _("Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer."),
        500: _("Une erreur inattendue est survenue. Réessayez dans un instant."),
        503: _("Le service est momentanément indisponible. Réessayez dans quelques minutes."),
    }
    if status == 503 and detail == "disk full":
        return _("Le serveur manque de place, réessayez plus tard.")
    return messages.get(status, messages[500])


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotAuthorizedException):
        return see_other("/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=&"))
    status = getattr(exc, "status_code", 500) if isinstance(exc, HTTPException) else 500
    detail = str(getattr(exc, "detail", ""))
    if status == 500 and space.out_of_space(exc):
        # Nothing was saved (the transaction rolled back): the person may try again once space is freed.
        space.noticed(exc)
        request.logger.error("disk full on %s %s: %s", request.method, request.url.path, exc)
        status, detail = 503, "disk full"
    if status not in ERROR_TITLES:
        status = 400 if 400 <= status < 500 else 500
    if status == 500:
        request.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    headers = {"Retry-After": "300"} if status in (429, 503) else {}
    template = "pages/error.html"
    if wants_fragment(request):
        # An htmx request aimed at a small part of the page: show the error
        # in place of the main content instead of nesting a whole page there.
        template = "pages/_error.html"
        headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    return Template(
        template_name=template,
        context={"status": status, "title": _(ERROR_TITLES[status]), "message": _error_message(status, detail)},
        status_code=status,
        headers={"Vary": "HX-Request", **headers},
    )


def host_check(allowed_hosts: tuple[str, ...]):
    """Host allowlist that ignores the port (Litestar's own compares host:port,
    which refuses a server started on any port but 80/443)."""
    allowed = frozenset(h.lower() for h in allowed_hosts)

    def middleware(app):
        async def check(scope, receive, send):
            if scope["type"] == "http":
                host = ""
                for name, value in scope["headers"]:
                    if name == b"host":
                        host = value.decode("latin-1").lower()
                        break
                hostname = host if host.endswith("]") else host.rsplit(":", 1)[0]
                if hostname not in allowed:
                    body = "Hôte inconnu.".encode()
                    await send({"type": "http.response.start", "status": 400, "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ]})
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        return check

    return middleware
