"""What every handler shares: page-or-fragment rendering, redirects after
post, security headers, error pages, the client address and rate limits, and
the first line of defence against what a client may send (ids out of range,
oversized forms, forged CSRF tokens, file names no file can have)."""

from __future__ import annotations

import errno
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, InternalServerException, NotAuthorizedException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.file_system import BaseLocalFileSystem
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from app import space
from app.forms import CONTROL_RE
from app.i18n import N_, _
from app.settings import get_settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)
# A photo or an icon opened on its own is shown in a page the browser makes
# itself and styles inline (Chromium's image viewer): under CSP it would be
# refused with a console error. No markup of ours or anyone's can be there
# (nosniff), so the viewer's own styles are let through and nothing else.
IMAGE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


# Every table's id is a SERIAL: PostgreSQL's int4 bounds what any row can be
# numbered; SQLite would take more, but a number no row can have is no row.
MAX_ID = 2**31 - 1


def parse_id(raw: Any) -> int | None:
    """A row id sent in a query string or a form field, or None when it cannot
    be one: not plain ASCII digits (str.isdigit() also says yes to "²"), zero,
    or beyond MAX_ID (the database would refuse to even compare it)."""
    if not isinstance(raw, str) or not 0 < len(raw) <= 10 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def path_params_in_reach(app):
    """Middleware: path parameters name rows and things, so one that names
    nothing is a page that does not exist, whatever the route: a number no row
    can have (negative, zero, too big for the database to compare), a name
    with a control character (PostgreSQL text cannot even hold NUL). The
    router has parsed the path parameters by then."""

    async def check(scope, receive, send):
        for value in scope.get("path_params", {}).values():
            if type(value) is int:
                if not 0 < value <= MAX_ID:
                    raise NotFoundException()
            elif CONTROL_RE.search(str(value)):
                raise NotFoundException()
        await app(scope, receive, send)

    return check


# The largest real urlencoded form (an event's text) is some 60 kB fully
# escaped; parsing percent-escapes costs about a second per ten megabytes.
FORM_MAX = 256 * 1024


class FormRequest(Request):
    """Refuses an oversized urlencoded body before parsing it (multipart forms,
    which carry the photos, keep the route's own limit)."""

    async def form(self):
        if self.content_type[0] == RequestEncodingType.URL_ENCODED and (
            (self.content_length or 0) > FORM_MAX or len(await self.body()) > FORM_MAX
        ):
            raise RequestEntityTooLarge(detail="form")
        return await super().form()


class SafeCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, refusing rather than crashing on tokens no
    browser sends: hmac.compare_digest raises TypeError on non-ASCII text, and
    a multipart body may carry the token field as a file."""

    def _csrf_tokens_match(self, request_csrf_token: Any, cookie_csrf_token: Any) -> bool:
        if not all(isinstance(t, str) and t.isascii() for t in (request_csrf_token, cookie_csrf_token)):
            return False
        return super()._csrf_tokens_match(request_csrf_token, cookie_csrf_token)


class StaticFileSystem(BaseLocalFileSystem):
    """The static directory, where a name the operating system refuses to look
    up (too long, a file taken for a directory) is simply absent (Litestar
    answers 500 to any error but "not found")."""

    NO_SUCH_NAME = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EINVAL}

    async def info(self, path, **kwargs):
        try:
            return await super().info(path, **kwargs)
        except OSError as exc:
            if exc.errno in self.NO_SUCH_NAME:
                raise FileNotFoundError(str(exc)) from exc
            raise


def is_htmx(request: Request) -> bool:
    """Any htmx request (a targeted one, a boosted navigation, a poll)."""
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


def render_fragment(request: Request, fragment: str, context: dict[str, Any]) -> str:
    """A fragment's HTML with the context `render` gives it, for what is sent
    apart from a page's response (the events of a live stream, app.live)."""
    ctx = dict(context)
    ctx.setdefault("me", request.scope.get("user"))
    template = Template(template_name=fragment, context=ctx)
    return request.app.template_engine.get_template(fragment).render(**template.create_template_context(request))


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
    content_type = headers.get("content-type", "")
    # SVG is a document that can hold script: it keeps the strict policy.
    raster = content_type.startswith("image/") and not content_type.startswith("image/svg")
    headers.setdefault("Content-Security-Policy", IMAGE_CSP if raster else CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if get_settings().https:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
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
    if status == 413 and detail == "form":
        return _("Ce formulaire est trop long pour être envoyé. Raccourcissez le texte et recommencez.")
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


def _login_page(request: Request) -> Response:
    """The session is gone (logout elsewhere, suspension, expiry): the whole
    window goes to the login page. htmx would follow a 303 itself and swap the
    login page into whatever the request targeted (the badge in the navigation),
    so an htmx request gets HX-Redirect, which htmx turns into a navigation."""
    if request.method == "GET" and (not is_htmx(request) or request.headers.get("hx-boosted") == "true"):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        # A poll or a form posted: come back to the page it was made from.
        source = urlsplit(request.headers.get("hx-current-url" if is_htmx(request) else "referer", ""))
        here = source.path + (f"?{source.query}" if source.query else "")
    url = "/login?next=" + quote(safe_next(here), safe="/?=&")
    headers = {"Vary": "HX-Request", "Cache-Control": "no-store"}
    if is_htmx(request):
        return Response(content=b"", status_code=401, media_type="text/plain", headers={**headers, "HX-Redirect": url})
    return Redirect(path=url, status_code=303, headers=headers)


def _hung_up(exc: Exception) -> bool:
    """Litestar's word for a client gone in the middle of sending its body (a
    phone losing signal during an upload): nobody to answer, nothing broken."""
    return isinstance(exc, InternalServerException) and exc.detail == "client disconnected prematurely"


def error_page(request: Request, exc: Exception) -> Response:
    if _hung_up(exc):
        request.logger.info("client hung up during %s %s", request.method, request.url.path)
        return Response(content=b"", status_code=400)
    if isinstance(exc, NotAuthorizedException):
        return _login_page(request)
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


def head_as_get(app):
    """HEAD answers as GET would, headers and all, without the body, on every
    GET route (Litestar routes HEAD only to handlers declared for it, 405
    elsewhere). Wraps the whole app so that routing sees a GET."""

    async def handle(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server still reads "HEAD" in its own scope, and sends no body.
        await app({**scope, "method": "GET"}, receive, headers_only)

    return handle


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
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 400,
                            "headers": [
                                (b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        return check

    return middleware
