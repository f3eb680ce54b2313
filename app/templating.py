"""The Jinja environment: filters and globals every page may use.

A low floor: it knows settings and i18n, no domain. What a domain adds to
the templates (its labels, its formatting of a post) is handed to
`make_environment` by app.main when it wires the app.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from litestar.response import Template
from markupsafe import Markup

from app import i18n
from app.settings import Settings, get_settings

PARIS = ZoneInfo("Europe/Paris")

NOTICES = {
    "welcome": i18n.N_("Bienvenue dans votre quartier !"),
    "waitlist": i18n.N_("Vous êtes sur la liste d'attente. Nous vous écrirons dès l'ouverture du quartier."),
    "logged_out": i18n.N_("Déconnexion effectuée. À bientôt !"),
    "saved": i18n.N_("Vos réglages sont enregistrés."),
    "invitation_sent": i18n.N_("Invitation envoyée. L'adresse n'a pas été enregistrée."),
    "password_changed": i18n.N_("Mot de passe modifié. Vos autres appareils ont été déconnectés."),
    "others_logged_out": i18n.N_("Vos autres appareils ont été déconnectés."),
    "confirmation_sent": i18n.N_("Un lien de confirmation vous a été envoyé par e-mail."),
    "email_confirmed": i18n.N_("Votre adresse e-mail est confirmée. Merci !"),
    "reset_sent": i18n.N_(
        "Si un compte existe avec cette adresse, un lien pour choisir un nouveau mot de passe vient d'y être envoyé. Il est valable une heure."
    ),
    "password_reset": i18n.N_("Votre nouveau mot de passe est enregistré."),
    "neighbourhood_opened": i18n.N_("Le quartier est ouvert."),
    "post_deleted": i18n.N_("L'annonce est supprimée."),
    "profile_saved": i18n.N_("Votre profil est enregistré."),
    "photo_saved": i18n.N_("Votre photo est enregistrée."),
    "photo_removed": i18n.N_("Votre photo est retirée."),
    "member_photo_removed": i18n.N_("La photo de profil est retirée."),
    "reported": i18n.N_("Merci : votre signalement est transmis à la modération du quartier, sans votre nom."),
    "mail_on": i18n.N_("Voisinage vous écrit de nouveau à votre adresse e-mail."),
    "push_off": i18n.N_("Les notifications sont coupées sur tous vos appareils."),
    "suspended": i18n.N_("Le compte est suspendu et ses sessions sont terminées."),
    "unsuspended": i18n.N_("La suspension est levée."),
    "verified": i18n.N_("Compte vérifié."),
    "vouched": i18n.N_("Merci : votre garantie est enregistrée."),
    "alert_proposed": i18n.N_("Merci : votre alerte est transmise à la modération du quartier, qui la publiera."),
    "alert_published": i18n.N_("L'alerte est publiée : tout le quartier est prévenu."),
    "alert_refused": i18n.N_("La proposition d'alerte est refusée."),
    "alert_ended": i18n.N_("L'alerte est terminée : elle n'est plus affichée."),
    "account_deleted": i18n.N_("Votre compte et vos données personnelles sont effacés. Au revoir, et merci !"),
}


def notice_text(request: Any) -> str | None:
    """The notice a redirect asked the page to show (`?notice=saved`). Most
    pages have none: their query string is not parsed for it."""
    if b"notice=" not in request.scope.get("query_string", b""):
        return None
    message = NOTICES.get(request.query_params.get("notice") or "")
    return i18n.gettext(message) if message else None


@cache
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


# CLDR's named formats carry seconds (« medium ») and a time-zone name
# (« full »: « heure normale d'Europe centrale »), which nobody writes: these are
# the dates as people write them in each language. The English catalog is
# British English, so are its dates; a browser asking for en-US gets US ones.
MOMENTS = {
    "full": {"fr": "EEEE d MMMM 'à' H 'h' mm", "en_GB": "EEEE d MMMM, HH:mm", "en_US": "EEEE, MMMM d, h:mm a"},
    "medium": {"fr": "d MMMM y 'à' H 'h' mm", "en_GB": "d MMMM y, HH:mm", "en_US": "MMMM d, y, h:mm a"},
    "short": {"fr": "d MMM 'à' H 'h' mm", "en_GB": "d MMM, HH:mm", "en_US": "MMM d, h:mm a"},
    "time": {"fr": "H 'h' mm", "en_GB": "HH:mm", "en_US": "h:mm a"},
}
DAYS = {
    "full": {"fr": "EEEE d MMMM y", "en_GB": "EEEE d MMMM y", "en_US": "EEEE, MMMM d, y"},
    "long": {"fr": "d MMMM y", "en_GB": "d MMMM y", "en_US": "MMMM d, y"},
    "medium": {"fr": "d MMM y", "en_GB": "d MMM y", "en_US": "MMM d, y"},
    "short": {"fr": "dd/MM/y", "en_GB": "dd/MM/y", "en_US": "M/d/y"},
}
# Beyond this age a list shows the date itself rather than « il y a 9 j ».
RECENT = timedelta(days=7)


def date_locale() -> str:
    """Babel's locale for the reader's dates: fr, en_GB, or en_US when the browser asks for it."""
    if i18n.current_locale.get() != "en":
        return i18n.current_locale.get()
    return "en_US" if i18n.current_region.get() == "US" else "en_GB"


def format_when(value: datetime, fmt: str = "full") -> str:
    """A date and time in the reader's language; `fmt` names one of MOMENTS or is a Babel pattern."""
    return _format_when(value, fmt, date_locale())


@lru_cache(maxsize=8192)
def _format_when(value: datetime, fmt: str, locale: str) -> str:
    # The same posts are shown again and again; Babel's formatting is the
    # costliest part of rendering a feed page.
    value = value.astimezone(PARIS)
    pattern = _first_of_month(MOMENTS[fmt][locale] if fmt in MOMENTS else fmt, value, locale)
    if locale == "fr" and value.minute == 0:
        pattern = pattern.replace(" 'h' mm", " 'h'")  # « à 18 h », not « à 18 h 00 »
    return format_datetime(value, format=pattern, locale=locale, tzinfo=PARIS)


def format_day(value, fmt: str = "full") -> str:
    if isinstance(value, datetime):
        value = value.astimezone(PARIS)
    locale = date_locale()
    pattern = _first_of_month(DAYS[fmt][locale] if fmt in DAYS else fmt, value, locale)
    return format_date(value, format=pattern, locale=locale)


def format_ago(value: datetime, now: datetime | None = None) -> str:
    """How long ago, as a feed shows it (« il y a 5 min », « 5 min ago »); the date itself past a week."""
    age = (now or datetime.now(timezone.utc)) - value
    if age >= RECENT:
        return format_when(value, "medium" if age > timedelta(days=300) else "short")
    if age < timedelta(minutes=1):
        return i18n.gettext("à l'instant")
    return _minutes_ago(age // timedelta(minutes=1), date_locale())


@lru_cache(maxsize=4096)
def _minutes_ago(minutes: int, locale: str) -> str:
    """Babel's words for an age in whole minutes (a week is 10,080 of them),
    kept: Babel took 15 µs per call, most of what preparing a feed page's
    twenty cards cost, for texts that change once a minute at most."""
    return format_timedelta(timedelta(minutes=-minutes), add_direction=True, format="short", threshold=1, locale=locale)


def iso_moment(value: datetime) -> str:
    """A valid HTML `datetime` attribute: to the second, with its offset (no microseconds)."""
    return value.astimezone(PARIS).replace(microsecond=0).isoformat()


def _first_of_month(pattern: str, value, locale: str) -> str:
    """French writes the first of the month as an ordinal, « 1er décembre »,
    which Babel (CLDR) does not: there the day field gets « er » as a literal,
    where the month is written out (not in « 01/12/2026 »)."""
    if locale != "fr" or value.day != 1 or "MMM" not in pattern:
        return pattern
    # Quoted parts of a pattern are literal text: only the others hold fields.
    parts = re.split(r"('(?:[^']|'')*')", pattern)
    return "".join(part if part.startswith("'") else re.sub(r"(?<!d)d(?!d)", "d'er'", part) for part in parts)


def labeller(table: Mapping[str, str]) -> Callable[[str], str]:
    """The reader's label for a key of a table of N_() messages; an unknown key shows as itself."""

    def label(key: str) -> str:
        return i18n.gettext(table[key]) if key in table else key

    return label


def make_environment(settings: Settings, domain_globals: Mapping[str, Any] | None = None) -> Environment:
    """`domain_globals`: what the domains give their templates (labels of
    kinds, statuses, moderation actions), passed in by app.main."""
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
    # The same newstyle gettext, remembered per language for texts without
    # variables (most of a page's): a page calls it some thirty times, and
    # Jinja's own wrapper went through two context calls and escaping each time.
    env.globals.update(_=_fixed_text_gettext, gettext=_fixed_text_gettext)
    env.globals.update(
        static_url=static_url,
        notice_text=notice_text,
        current_locale=i18n.current_locale.get,
        **(domain_globals or {}),
    )
    env.filters.update(when=format_when, day=format_day, ago=format_ago, iso=iso_moment)
    env.globals.update(page_header=header_renderer(env), kept=kept_macros(env))
    return env


class Rendered:
    """Rendered pieces of pages kept in memory per process, least recently
    used out first. A key is every value a piece is made of (the language
    included), so nothing is ever invalidated: a changed value is another key,
    and the old piece ages out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple, Markup] = OrderedDict()

    def get(self, key: tuple, render: Callable[[], str]) -> Markup:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        found = self._kept[key] = Markup(render())
        if len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return found


def header_renderer(env: Environment) -> Callable[..., Markup]:
    """`page_header(...)` for base.html: the site's header (templates/_header.html),
    the same on every page: a fifth of a page's rendering before it was kept.
    One per signed-in browser and unread count at most, a few hundred bytes each."""
    headers = Rendered(5000)

    def page_header(me: Any, signing_up: bool, csrf_input: str, moderation: bool) -> Markup:
        signed_in = me is not None
        key = (
            i18n.current_locale.get(),
            signed_in,
            bool(signing_up),
            # Anonymous headers have no form: one for every visitor.
            str(csrf_input) if signed_in or signing_up else "",
            getattr(me, "unread_notifications", 0) if signed_in else 0,
            bool(moderation),
        )
        return headers.get(
            key,
            lambda: env.get_template("_header.html").render(
                me=me, signing_up=signing_up, csrf_input=csrf_input, moderation=moderation
            ),
        )

    return page_header


def kept_macros(env: Environment) -> Callable[..., Markup]:
    """`kept("posts/_feed_top.html", "feed_top", a, b, …)` for templates: a
    macro called with hashable arguments that are all it reads (besides the
    language), rendered once per combination and kept."""
    pieces = Rendered(2000)

    def kept(template: str, macro: str, *args: Any) -> Markup:
        key = (i18n.current_locale.get(), template, macro, *args)
        return pieces.get(key, lambda: getattr(env.get_template(template).module, macro)(*args))

    return kept


# Where the reader's CSRF input goes in a piece kept for every reader (a
# card's save button, a kept fragment): the token is theirs, never in the
# memory every reader shares; it is put in as the piece is served.
CSRF_MARK = "\x00csrf\x00"

_fragments = Rendered(400)


def kept_fragment(request: Any, fragment: str, key: tuple | None, make_context: Callable[[], dict]) -> Markup:
    """A fragment rendered once per `key` and kept, shared by every reader
    whose key is the same (twenty readers of a quartier opening its feed in the
    same minute pay one rendering). `key` holds every value the fragment is
    made of; the language, the way of writing dates and the minute are added,
    so what time changes (« il y a 5 min ») is at most a minute old. The
    fragment reads its context only, never `request` or `me` (they are not in
    it: reading one of their attributes fails), and its CSRF input is the
    reader's, put in at serving. `make_context` runs only when the fragment is rendered; with
    `key` None (a search, which nobody repeats) it is rendered and not kept.
    A few hundred pages of some 20 KB at most."""

    def render() -> str:
        context = {**make_context(), "csrf_input": Markup(CSRF_MARK)}
        return request.app.template_engine.get_template(fragment).render(**context)

    if key is None:
        html = render()
    else:
        full_key = (fragment, i18n.current_locale.get(), date_locale(), int(time.time() // 60), *key)
        html = _fragments.get(full_key, render)
    # Litestar's own CSRF input of this request, as a template would get it.
    reader_input = Template(template_name=fragment).create_template_context(request)["csrf_input"]
    return Markup(str(html).replace(CSRF_MARK, reader_input))


_FIXED_TEXTS: dict[tuple[str, str], Markup] = {}


@pass_eval_context
def _fixed_text_gettext(eval_context: EvalContext, message: str, **variables: Any) -> str:
    """Jinja's newstyle gettext (a translation is markup, the variables are
    escaped into it), with the result of a text without variables kept."""
    locale = i18n.current_locale.get()
    if variables or not eval_context.autoescape:
        text = i18n.translations(locale).gettext(message)
        return Markup(text) % variables if eval_context.autoescape else text % variables
    key = (locale, message)
    found = _FIXED_TEXTS.get(key)
    if found is None:
        if len(_FIXED_TEXTS) > 20_000:  # a message id built from data would otherwise grow it for ever
            _FIXED_TEXTS.clear()
        found = _FIXED_TEXTS[key] = Markup(i18n.translations(locale).gettext(message)) % {}
    return found
