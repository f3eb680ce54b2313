"""French first, English via the account setting or the browser."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR, negotiate
from app.neighbourhoods import queries as neighbourhoods
from app.settings import ROOT
from tests.factories import login, make_user, post_form


async def test_pages_are_french_by_default(client):
    html = (await client.get("/")).text
    assert '<html lang="fr">' in html and "S'inscrire" in html


async def test_an_english_browser_gets_english(client):
    html = (await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})).text
    assert '<html lang="en">' in html and "Sign up" in html and "S'inscrire" not in html


async def test_the_account_setting_beats_the_browser(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, user)
    await post_form(client, "/settings", {"locale": "en"})
    html = (await client.get("/settings", headers={"Accept-Language": "fr-FR"})).text
    assert '<html lang="en">' in html and "Settings" in html


async def test_error_messages_are_translated_too(client):
    response = await post_form(
        client,
        "/signup",
        {"first_name": "", "last_name": "x", "email": "bad", "password": ""},
        headers={"Accept-Language": "en"},
    )
    assert "This field is required." in response.text


def test_negotiation():
    assert negotiate(None) == "fr"
    assert negotiate("de-DE, en;q=0.5") == "en"
    assert negotiate("de-DE") == "fr"
    assert negotiate("en", preferred="fr") == "fr"


def test_every_message_has_an_english_translation():
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.string}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    missing = []
    for directory, method, pattern in ((ROOT / "templates", "jinja2", "**.html"), (ROOT / "app", "python", "**.py")):
        for _f, _l, message, *_rest in extract_from_dir(
            directory, [(pattern, method)], keywords=keywords, options_map={pattern: {"extensions": "jinja2.ext.i18n"}}
        ):
            msgid = message if isinstance(message, str) else message[0]
            if msgid not in translated:
                missing.append(msgid)
    assert not missing, f"{len(missing)} messages without English: {missing[:5]}"


def test_french_plurals_treat_zero_as_singular():
    from app.i18n import current_locale, ngettext

    token = current_locale.set("fr")
    try:
        assert ngettext("%(num)s réponse", "%(num)s réponses", 0) == "0 réponse"
        assert ngettext("%(num)s réponse", "%(num)s réponses", 2) == "2 réponses"
    finally:
        current_locale.reset(token)


async def test_the_first_of_the_month_is_1er_in_french_and_1_in_english(make_client):
    """An event on the first of December, as each reader sees its date."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from app.events import queries as events
    from tests.factories_posts import neighbours, signed_in

    _neighbourhood, (claire, paul) = await neighbours(2)
    starts = datetime(datetime.now().year + 1, 12, 1, 18, 30, tzinfo=ZoneInfo("Europe/Paris")).astimezone(timezone.utc)
    post_id = await events.create_event(
        author=claire,
        title="Marché de Noël",
        body="Vin chaud et crêpes.",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        place="Place du Marché",
        capacity=None,
        photos=[],
    )
    french = await signed_in(make_client, claire)
    page = (await french.get(f"/posts/{post_id}")).text
    assert "1er décembre" in page and " 1 décembre" not in page
    english = await signed_in(make_client, paul)
    await post_form(english, "/settings", {"locale": "en"})
    page = (await english.get(f"/posts/{post_id}")).text
    assert "1 December" in page and "1er" not in page and "December 1" not in page
