"""create_app(): the one place where Voisinage is wired together."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import live, pages, ratelimits
from app.access import NeedsAddress, can
from app.accounts.geocoding import make_geocoder
from app.accounts.routes import EmailController, PasswordResetController, SessionController, SettingsController
from app.accounts.sessions import SessionMiddleware
from app.accounts.signup_routes import SignupController
from app.alerts import routes as alerts
from app.background import periodic, running
from app.errors import error_page
from app.events import queries as event_queries
from app.events import routes as events
from app.groups import routes as groups
from app.invitations import routes as invitations
from app.logs import observed
from app.messages import routes as messages
from app.moderation import routes as moderation
from app.moderation.actions import TEMPLATE_GLOBALS as MODERATION_TEMPLATE_GLOBALS
from app.neighbourhoods.routes import NeighbourhoodController
from app.neighbours import blocks, photo_routes, trust_routes
from app.neighbours import routes as neighbours
from app.notify import digest, mail_outbox, outbox
from app.notify import routes as notify
from app.polls import routes as polls
from app.posts import loans
from app.posts import routes as posts
from app.posts.view import TEMPLATE_GLOBALS as POST_TEMPLATE_GLOBALS
from app.posts.view import card_renderer
from app.privacy import routes as privacy
from app.recommendations import routes as recommendations
from app.rides import routes as rides
from app.settings import Settings, get_settings
from app.templating import make_environment
from app.web import (
    FormRequest,
    SafeCSRFMiddleware,
    StaticFileSystem,
    head_as_get,
    host_check,
    path_params_in_reach,
    security_headers,
    see_other,
)


def background_loops(
    settings: Settings, *, poll: float = 1.0, batch_size: int = 50, lease: float = 60.0, backoff_base: float = 30.0
) -> list[Coroutine]:
    """The work done apart from requests, by the server (unless
    VOISINAGE_BACKGROUND_WORK=0) or by `voisinage worker`."""
    return [
        outbox.work_forever(settings, poll=poll, batch_size=batch_size, lease=lease, backoff_base=backoff_base),
        periodic(3600, outbox.prune, name="push pruning"),
        mail_outbox.work_forever(settings, poll=poll, batch_size=batch_size),
        periodic(3600, mail_outbox.prune, name="mail pruning"),
        periodic(600, digest.run, name="digests"),
        periodic(3600, loans.send_loan_reminders, name="loan reminders"),
        periodic(900, event_queries.send_event_reminders, name="event reminders"),
        periodic(3600, ratelimits.prune, name="rate limit pruning"),
    ]


def create_serving_app() -> Litestar:
    """One of the processes of `voisinage serve --workers N`: it serves
    requests only; their parent runs the background work once for all."""
    from app.logs import configure

    configure()  # a spawned process: the parent's logging configuration is not inherited
    return create_app(dataclasses.replace(get_settings(), background_work=False))


def create_app(settings: Settings | None = None, *, own_database: bool = True) -> Litestar:
    """`own_database=False` when the caller (the test session) already holds
    the connection pool on its own event loop."""
    settings = settings or get_settings()
    if not settings.secret_key:
        raise RuntimeError("the secret key is not loaded: app.db.keys.load() runs before create_app()")
    from app.piccolo_conf import DB

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        # The background loops need the database: they start after it and stop before it.
        if own_database:
            await DB.start_connection_pool()
            # Everything loaded so far (modules, templates, the app) lives as long
            # as the process: out of the collector's sight, a full collection
            # under load takes a few milliseconds instead of some 70, which every
            # request waiting at that moment paid (the feed's p99 doubled).
            gc.freeze()
        try:
            async with (
                running(background_loops(settings) if settings.background_work else []),
                running(live.listeners(settings)),
            ):
                with live.ending_streams_on_stop():
                    yield
        finally:
            if own_database:
                await DB.close_connection_pool()

    def needs_address(_request, _exc):
        return see_other("/signup/address")

    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="__Host-csrftoken" if settings.https else "csrftoken",
        cookie_secure=settings.https,
        cookie_samesite="lax",
        header_name="x-csrftoken",
    )
    static = create_static_files_router(
        path="/static",
        directories=[settings.static_dir],
        file_system=StaticFileSystem(),
        cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
        include_in_schema=False,
    )
    environment = make_environment(settings, {**POST_TEMPLATE_GLOBALS, **MODERATION_TEMPLATE_GLOBALS})
    # Templates ask app.access what the viewer may do instead of reading roles.
    environment.globals["can"] = can
    # Post cards rendered once per version and language (app.posts.view).
    environment.globals["post_card"] = card_renderer(environment)
    app = Litestar(
        route_handlers=[
            *pages.ROUTES,
            SignupController,
            SessionController,
            SettingsController,
            PasswordResetController,
            EmailController,
            NeighbourhoodController,
            # Each domain lists its own handlers; this is where they meet.
            *posts.ROUTES,
            *neighbours.ROUTES,
            *blocks.ROUTES,
            *photo_routes.ROUTES,
            *trust_routes.ROUTES,
            *privacy.ROUTES,
            *messages.ROUTES,
            *events.ROUTES,
            *polls.ROUTES,
            *rides.ROUTES,
            *notify.ROUTES,
            *moderation.ROUTES,
            *invitations.ROUTES,
            *recommendations.ROUTES,
            *alerts.ROUTES,
            *groups.ROUTES,
            static,
        ],
        middleware=[
            host_check(settings.allowed_hosts),
            SessionMiddleware,
            path_params_in_reach,
            # Litestar's own CSRF check, made to refuse forged tokens it would crash on.
            DefineMiddleware(SafeCSRFMiddleware, config=csrf),
        ],
        request_class=FormRequest,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        # WebP photos are compressed already: gzip would spend CPU to gain nothing.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=512, gzip_compress_level=6, exclude="^/photos/", exclude_opt_key=live.STREAM
        ),
        before_send=[security_headers],
        exception_handlers={NeedsAddress: needs_address, HTTPException: error_page, Exception: error_page},
        lifespan=[lifespan],
        # The photo routes check the CSRF token themselves, as the middleware would (app.uploads).
        state=State({"geocoder": make_geocoder(settings), "settings": settings, "csrf_config": csrf}),
        # Text forms: Litestar holds their whole body in memory. The photo
        # routes, which stream what they read, allow more (app.uploads).
        request_max_body_size=1024 * 1024,
        openapi_config=None,
        # Logging is configured once for the process, as JSON (app.logs).
        logging_config=None,
        debug=settings.debug,
    )
    app.asgi_handler = head_as_get(observed(app.asgi_handler, access_log=settings.access_log))
    return app
