"""What every handler shares: page-or-fragment rendering, redirects after
post, security headers, error pages, the client address and rate limits, and
the first line of defence against what a client may send (ids out of range,
oversized forms, forged CSRF tokens, file names no file can have)."""

from __future__ import annotations

import errno
import hashlib
import logging
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.file_system import BaseLocalFileSystem
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse
from litestar.types import Message, Scope

from app import ratelimits
from app.forms import CONTROL_RE
from app.settings import get_settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)
log = logging.getLogger("voisinage.web")
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


# Pages a shared device must not keep, even for the back button: what the
# account holds (settings, export), private messages, moderation, and the
# forms where a password or a code is typed.
NO_STORE_PATHS = ("/settings", "/messages", "/moderation", "/login", "/signup", "/password", "/verify", "/email")


class Page(Template):
    """A page or fragment the browser keeps and asks for again with
    If-None-Match: when nothing on it changed, the answer is 304 without a
    body, which a phone on a slow network feels. The ETag is a hash of the
    whole body, so anything the page shows (a new reply, the unread count,
    the reader's language) changes it; `private, no-cache` keeps it out of
    shared caches and makes the browser ask each time, while back and forward
    stay instant (the back-forward cache keeps `no-cache` pages, not
    `no-store` ones)."""

    def to_asgi_response(self, app, request: Request, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(app, request, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200 or "cache-control" in response.headers:
            return response
        if request.scope["path"].startswith(NO_STORE_PATHS):
            response.headers["Cache-Control"] = "private, no-store"
            return response
        # SHA-256 runs on the processor's own instructions: half blake2b's time on a 25 KB feed.
        etag = f'"{hashlib.sha256(response.body).hexdigest()[:32]}"'
        # Added, not set: neither is there yet (set would look for them first).
        response.headers.add("ETag", etag)
        response.headers.add("Cache-Control", "private, no-cache")
        asked = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
        if etag in asked:
            response.status_code = 304
            response.body = b""
            for name in ("content-type", "content-length"):
                del response.headers[name]
        return response


def render(
    request: Request,
    page: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    name = fragment if fragment and wants_fragment(request) else page
    return Page(
        template_name=name,
        context=_context(request, context),
        status_code=status_code,
        headers={"Vary": "HX-Request", **(headers or {})},
        # Else Litestar guesses it from the name's suffix at every answer.
        media_type=MediaType.HTML if name.endswith(".html") else None,
    )


def _context(request: Request, context: dict[str, Any] | None) -> dict[str, Any]:
    ctx = dict(context or {})
    # Fragments are rendered without base.html, which is where `me` is set for pages.
    ctx.setdefault("me", request.scope.get("user"))
    return ctx


def render_fragment(request: Request, fragment: str, context: dict[str, Any]) -> str:
    """A fragment's HTML with the context `render` gives it, for what is sent
    apart from a page's response (the events of a live stream, app.live)."""
    template = Template(template_name=fragment, context=_context(request, context))
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


async def security_headers(message: Message, scope: Scope) -> None:
    # A coroutine: Litestar runs a plain-function hook in a worker thread, for
    # every message of every response.
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


class TooManyRequests(HTTPException):
    status_code = 429


async def limit(key: str, most: int, window: float) -> None:
    """Refuses (429) an attempt beyond `most` per `window` seconds under
    `key`, counted in the database across every process (app.ratelimits)."""
    if not await ratelimits.hit(key, most, window):
        raise TooManyRequests(detail="rate")


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

        # A copy: the server still reads "HEAD" in its own scope, and sends no
        # body; the access log (app.logs) reads what was asked.
        await app({**scope, "method": "GET", "asked_method": "HEAD"}, receive, headers_only)

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
