"""create_app(): the one place where Voisinage is wired together."""

from __future__ import annotations

import logging

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import pages
from app.access import NeedsAddress, can
from app.accounts.geocoding import make_geocoder
from app.accounts.routes import (
    EmailController,
    PasswordResetController,
    SessionController,
    SettingsController,
    SignupController,
)
from app.accounts.sessions import SessionMiddleware
from app.neighbourhoods.routes import NeighbourhoodController
from app.accounts import blocks, profiles, trust_routes
from app.events import routes as events
from app.messages import routes as messages
from app.moderation import routes as moderation
from app.moderation.actions import TEMPLATE_GLOBALS as MODERATION_TEMPLATE_GLOBALS
from app.notify import routes as notify
from app.posts import routes as posts
from app.privacy import routes as privacy
from app.posts.view import TEMPLATE_GLOBALS as POST_TEMPLATE_GLOBALS
from app.settings import Settings, get_settings
from app.templating import make_environment
from app.web import (
    FormRequest,
    RateLimiter,
    SafeCSRFMiddleware,
    StaticFileSystem,
    error_page,
    head_as_get,
    host_check,
    path_params_in_reach,
    security_headers,
    see_other,
)


def _hooks(name: str, settings: Settings) -> list:
    if not settings.background_work:
        return []
    return [hook for module in (posts, messages, events, notify, moderation) for hook in getattr(module, name, [])]


def create_app(settings: Settings | None = None, *, own_database: bool = True) -> Litestar:
    """`own_database=False` when the caller (the test session) already holds
    the connection pool on its own event loop."""
    settings = settings or get_settings()
    from app.piccolo_conf import DB

    async def start_db() -> None:
        await DB.start_connection_pool()

    async def stop_db() -> None:
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
    logging.getLogger("voisinage").setLevel(logging.INFO)
    environment = make_environment(settings, {**POST_TEMPLATE_GLOBALS, **MODERATION_TEMPLATE_GLOBALS})
    # Templates ask app.access what the viewer may do instead of reading roles.
    environment.globals["can"] = can
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
            *profiles.ROUTES,
            *blocks.ROUTES,
            *trust_routes.ROUTES,
            *privacy.ROUTES,
            *messages.ROUTES,
            *events.ROUTES,
            *notify.ROUTES,
            *moderation.ROUTES,
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
        compression_config=CompressionConfig(backend="gzip", minimum_size=512, gzip_compress_level=6),
        before_send=[security_headers],
        exception_handlers={NeedsAddress: needs_address, HTTPException: error_page, Exception: error_page},
        # Domains may run background work (the push outbox worker, reminders):
        # each exposes ON_STARTUP / ON_SHUTDOWN hooks, started after the database.
        on_startup=([start_db] if own_database else []) + [*_hooks("ON_STARTUP", settings)],
        on_shutdown=[*_hooks("ON_SHUTDOWN", settings)] + ([stop_db] if own_database else []),
        # The photo routes check the CSRF token themselves, as the middleware would (app.uploads).
        state=State({"limiter": RateLimiter(), "geocoder": make_geocoder(settings), "settings": settings,
                     "csrf_config": csrf}),
        # Text forms: Litestar holds their whole body in memory. The photo
        # routes, which stream what they read, allow more (app.uploads).
        request_max_body_size=1024 * 1024,
        openapi_config=None,
        debug=settings.debug,
    )
    app.asgi_handler = head_as_get(app.asgi_handler)
    return app
