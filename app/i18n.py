"""Translations: French is the source language, English comes from a .po catalog.

The catalog is compiled in memory when the app starts (Babel's own compiler),
so no binary .mo is ever committed or hand-built, and an edited .po takes
effect on the next start.

`python -m app.i18n` re-extracts the messages from the code and templates and
merges them into the English catalog, keeping existing translations.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LOCALE_DIR = Path(__file__).parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)
# The country a browser asks for, when it matters: US English writes its dates its own way.
current_region: ContextVar[str] = ContextVar("current_region", default="")


class _French(_gettext.NullTranslations):
    """The source texts, with French plurals: 0 and 1 are singular (« 0 réponse »)."""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n <= 1 else plural


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return _French()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(message: str, **variables: object) -> str:
    text = translations(current_locale.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_locale.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where shown."""
    return message


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """A mail speaks its reader's language, not that of whoever caused it."""
    token = current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        current_locale.reset(token)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    if preferred in LOCALES:
        return preferred  # type: ignore[return-value]
    if not accept_language:
        return DEFAULT_LOCALE
    wanted = []
    for part in accept_language.split(",")[:12]:
        lang, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang and q > 0:
            wanted.append((q, lang.strip().replace("-", "_")))
    wanted.sort(key=lambda item: -item[0])
    found = Locale.negotiate([lang for _q, lang in wanted], list(LOCALES), sep="_")
    return str(found.language) if found else DEFAULT_LOCALE


def region(accept_language: str | None) -> str:
    """ "US" when the browser's first English is American English, else ""."""
    for part in (accept_language or "").split(",")[:12]:
        tag = part.strip().partition(";")[0].strip().lower().replace("_", "-")
        if tag.startswith("en"):
            return "US" if tag == "en-us" else ""
    return ""


def _extract() -> None:
    """Refresh locale/en/LC_MESSAGES/messages.po from the sources."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import write_po

    root = Path(__file__).parent.parent
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    template = Catalog(locale=None, project="Voisinage")
    for directory, methods in (
        (root / "app", [("**.py", "python")]),
        (root / "templates", [("**.html", "jinja2")]),
    ):
        for filename, lineno, message, comments, _ctx in extract_from_dir(
            directory,
            methods,
            keywords=keywords,
            options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            template.add(message, None, [(str(directory.name + "/" + filename), lineno)], auto_comments=comments)
    po = LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    if po.exists():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale="en")
    else:
        catalog = Catalog(locale="en", project="Voisinage")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    with po.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"{len(catalog)} messages, {len(missing)} without English")
    for m in missing:
        print("  -", m if isinstance(m, str) else m[0])


if __name__ == "__main__":
    _extract()
