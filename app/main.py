"""create_app(): the one place where Voisinage is wired together."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_date_format, get_datetime_format, get_time_format
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import i18n, pages
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
from app.notify import routes as notify
from app.posts import routes as posts
from app.privacy import routes as privacy
from app.posts.kinds import SINGULAR, SKILLS, display_name
from app.settings import Settings, get_settings
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

PARIS = ZoneInfo("Europe/Paris")

NOTICES = {
    "welcome": i18n.N_("Bienvenue dans votre quartier !"),
    "waitlist": i18n.N_("Vous êtes sur la liste d'attente. Nous vous écrirons dès l'ouverture du quartier."),
    "logged_out": i18n.N_("Vous êtes déconnecté."),
    "saved": i18n.N_("Vos réglages sont enregistrés."),
    "password_changed": i18n.N_("Mot de passe modifié. Vos autres appareils ont été déconnectés."),
    "others_logged_out": i18n.N_("Vos autres appareils ont été déconnectés."),
    "confirmation_sent": i18n.N_("Un lien de confirmation vous a été envoyé par e-mail."),
    "email_confirmed": i18n.N_("Votre adresse e-mail est confirmée. Merci !"),
    "reset_sent": i18n.N_("Si un compte existe avec cette adresse, un lien pour choisir un nouveau mot de passe vient d'y être envoyé. Il est valable une heure."),
    "password_reset": i18n.N_("Votre nouveau mot de passe est enregistré."),
    "neighbourhood_opened": i18n.N_("Le quartier est ouvert."),
    "post_deleted": i18n.N_("L'annonce est supprimée."),
    "profile_saved": i18n.N_("Votre profil est enregistré."),
    "reported": i18n.N_("Merci : votre signalement est transmis à la modération du quartier, sans votre nom."),
    "push_off": i18n.N_("Les notifications sont coupées sur tous vos appareils."),
    "suspended": i18n.N_("Le compte est suspendu et ses sessions sont terminées."),
    "unsuspended": i18n.N_("La suspension est levée."),
    "verified": i18n.N_("Voisin vérifié."),
    "vouched": i18n.N_("Merci : votre garantie est enregistrée."),
    "account_deleted": i18n.N_("Votre compte et vos données personnelles sont effacés. Au revoir, et merci !"),
}


MODERATION_ACTIONS = {
    "hide": i18n.N_("Annonce masquée"),
    "restore": i18n.N_("Annonce rendue visible"),
    "lock": i18n.N_("Réponses fermées"),
    "unlock": i18n.N_("Réponses rouvertes"),
    "pin": i18n.N_("Annonce épinglée"),
    "unpin": i18n.N_("Annonce désépinglée"),
    "hide_reply": i18n.N_("Réponse masquée"),
    "restore_reply": i18n.N_("Réponse rendue visible"),
    "suspend": i18n.N_("Compte suspendu"),
    "unsuspend": i18n.N_("Suspension levée"),
    "verify_moderator": i18n.N_("Vérifié par la modération"),
    "verify_vouch": i18n.N_("Vérifié par deux voisins garants"),
    "verify_letter": i18n.N_("Vérifié par courrier"),
    "letter": i18n.N_("Lettre de vérification imprimée"),
    "appoint": i18n.N_("Nommé modérateur"),
    "dismiss": i18n.N_("Retiré de la modération"),
    "require_verified": i18n.N_("Publier demande d'être vérifié"),
    "open_to_all": i18n.N_("Publier est ouvert à tous les voisins"),
}


def notice_text(key: str | None) -> str | None:
    message = NOTICES.get(key or "")
    return i18n.gettext(message) if message else None


@lru_cache(maxsize=None)
def _static_version(path: str) -> str:
    file = get_settings().static_dir / path
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(path: str) -> str:
    # Content-hashed URLs let the browser and the service worker keep assets a
    # year and still see a new version the moment it ships.
    return f"/static/{path}?v={_static_version(path)}"


# The English catalog is British English; so are its dates (« 1 December », 24 h).
BABEL_LOCALES = {"en": "en_GB"}
NAMED_FORMATS = ("full", "long", "medium", "short")


def format_when(value: datetime, fmt: str = "medium") -> str:
    """A date and time in the reader's language; `fmt` is a Babel format name or pattern."""
    return _format_when(value, fmt, i18n.current_locale.get())


@lru_cache(maxsize=8192)
def _format_when(value: datetime, fmt: str, locale: str) -> str:
    # The same posts are shown again and again; Babel's formatting is the
    # costliest part of rendering a feed page.
    value = value.astimezone(PARIS)
    pattern = _pattern(fmt, value, locale, _datetime_pattern)
    return format_datetime(value, format=pattern, locale=BABEL_LOCALES.get(locale, locale), tzinfo=PARIS)


def format_day(value, fmt: str = "full") -> str:
    if isinstance(value, datetime):
        value = value.astimezone(PARIS)
    locale = i18n.current_locale.get()
    pattern = _pattern(fmt, value, locale, lambda name: get_date_format(name, "fr").pattern)
    return format_date(value, format=pattern, locale=BABEL_LOCALES.get(locale, locale))


def _datetime_pattern(name: str) -> str:
    # What Babel assembles itself for a named format, as one pattern.
    return (str(get_datetime_format(name, "fr")).replace("{0}", get_time_format(name, "fr").pattern)
            .replace("{1}", get_date_format(name, "fr").pattern))


def _pattern(fmt: str, value, locale: str, named) -> str:
    """French writes the first of the month as an ordinal, « 1er décembre »,
    which Babel (CLDR) does not: there the day field gets « er » as a literal,
    where the month is written out (not in « 01/12/2026 »)."""
    if locale != "fr" or value.day != 1:
        return fmt
    if fmt in NAMED_FORMATS:
        fmt = named(fmt)
    if "MMM" not in fmt:
        return fmt
    # Quoted parts of a pattern are literal text: only the others hold fields.
    parts = re.split(r"('(?:[^']|'')*')", fmt)
    return "".join(part if part.startswith("'") else re.sub(r"(?<!d)d(?!d)", "d'er'", part) for part in parts)


def _label(table: dict, key: str) -> str:
    return i18n.gettext(table[key]) if key in table else key


def status_label(kind: str, status: str) -> str:
    from app.posts.kinds import CLOSED, STATUSES

    if status in ("hidden", "removed"):
        return i18n.gettext("Masquée")
    if status == "closed":
        return i18n.gettext(CLOSED)
    return _label(STATUSES.get(kind, {}), status)


def post_status(post: dict) -> str:
    """The state a post page shows. An event's follows its cancellation and
    its dates: once cancelled or over it is never « À venir »."""
    if post["kind"] == "event" and post["status"] not in ("hidden", "removed") and post.get("event_starts_at"):
        now = datetime.now(timezone.utc)
        if post.get("event_cancelled_at"):
            return i18n.gettext("Annulé")
        if post["event_ends_at"] < now:
            return i18n.gettext("Terminé")
        if post["event_starts_at"] <= now:
            return i18n.gettext("En cours")
    return status_label(post["kind"], post["status"])


def make_environment(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(settings.templates_dir)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined if settings.debug else Environment().undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with a deploy, not while serving: no stat() per render.
        auto_reload=settings.debug,
        cache_size=1000,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: i18n.translations(i18n.current_locale.get()).gettext(s),
        ngettext=lambda s, p, n: i18n.translations(i18n.current_locale.get()).ngettext(s, p, n),
        newstyle=True,
    )
    env.globals.update(
        static_url=static_url,
        notice_text=notice_text,
        current_locale=i18n.current_locale.get,
        person=display_name,
        singular_kind=lambda kind: SINGULAR.get(kind, kind),
        status_label=status_label,
        post_status=post_status,
        skill_label=lambda key: _label(SKILLS, key),
        action_label=lambda key: _label(MODERATION_ACTIONS, key),
    )
    env.filters.update(when=format_when, day=format_day)
    return env


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
    environment = make_environment(settings)
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
