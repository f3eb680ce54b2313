"""Every page a neighbour or a moderator sees is valid HTML for the W3C Nu
validator (vnu.jar), logged out and logged in: a browser guesses around
invalid markup, and each guesses differently.

The validator is installed by .ci/test (Java from Debian, vnu-jar with npm
into ~/.cache/voisinage-tools); VOISINAGE_VNU_JAR names another copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from app.events.recurrence import Rule
from app.messages import queries as messages
from app.polls import queries as polls
from app.posts import queries as posts
from tests.browser.conftest import device
from tests.factories import PASSWORD, make_moderator, make_neighbourhood, make_user
from tests.factories_events import make_event
from tests.factories_posts import encoded_photo, jpeg_bytes, make_post, neighbours

pytestmark = pytest.mark.browser

TOOLS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voisinage-tools"
VNU_JAR = Path(os.environ.get("VOISINAGE_VNU_JAR", TOOLS / "node_modules/vnu-jar/build/dist/vnu.jar"))
# htmx's attributes (hx-get, hx-boost:inherited…) are not HTML's: the only messages set aside.
HTMX_ATTRIBUTE = re.compile(r"Attribute “hx-[^”]*” (not allowed|is not serializable)")


def _validator() -> list[str]:
    java = shutil.which("java")
    if java and VNU_JAR.is_file():
        return [java, "-Xss8m", "-jar", str(VNU_JAR)]
    if os.environ.get("CI") or os.environ.get("VOISINAGE_CI"):
        pytest.fail(f"the HTML validator is missing in CI (java: {java}, {VNU_JAR}): .ci/test installs it")
    pytest.skip(f"no Java or no vnu.jar at {VNU_JAR}: `bash .ci/test` installs them")


def _errors(pages: dict[str, str], folder: Path) -> dict[str, list[str]]:
    """One run of the validator over every page (its start-up is the slow part)."""
    files = []
    for name, html in pages.items():
        path = folder / f"{name}.html"
        path.write_text(html)
        files.append(str(path))
    run = subprocess.run(
        [*_validator(), "--errors-only", "--format", "json", "--stdout", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(run.stdout)
    found: dict[str, list[str]] = {}
    for message in report["messages"]:
        if message.get("type") != "error" or HTMX_ATTRIBUTE.search(message.get("message", "")):
            continue
        page = Path(message["url"].removeprefix("file:")).stem
        found.setdefault(page, []).append(f"line {message.get('lastLine')}: {message['message']}")
    return found


def _visitor(server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=device(), follow_redirects=True, timeout=30)


async def _post(client: httpx.AsyncClient, url: str, data: dict, **kwargs) -> httpx.Response:
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return await client.post(url, data={**data, "_csrf_token": client.cookies["csrftoken"]}, **kwargs)


async def _log_in(client: httpx.AsyncClient, user) -> None:
    answer = await _post(client, "/login", {"email": user.email, "password": PASSWORD})
    assert answer.status_code == 200 and "/login" not in str(answer.url), answer.url


async def _pages(server) -> dict[str, str]:
    """The pages the browser tests visit, each as its visitor gets it."""
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    photo = await encoded_photo(jpeg_bytes(800, 600))
    post_id = await posts.create_post(
        author=claire, kind="lend", title="Perceuse à prêter", body="Avec ses mèches.", details={}, photos=[photo]
    )
    event_id = await make_event(claire, title="Repas de quartier", capacity=12)
    series_id = await make_event(claire, title="Atelier vélo", capacity=4, rule=Rule("weekly", count=4))
    await make_post(paul, kind="give", title="Vélo d'enfant à donner")
    poll_id = await polls.create_discussion(
        author=claire,
        title="Un composteur dans la cour ?",
        body="Votez !",
        details={},
        photos=[],
        poll=polls.PollDraft(["Oui", "Non"], multiple=True, closes_at=datetime.now(timezone.utc) + timedelta(days=3)),
    )
    conversation_id = await messages.send(paul.id, claire.id, "Bonjour Claire, la perceuse est-elle libre ?")
    pages: dict[str, str] = {}

    async def visit(client, name, url, status=200):
        response = await client.get(url)
        pages[name] = response.text
        if response.status_code != status:
            pages[f"{name}-answered-{response.status_code}"] = ""

    async with _visitor(server) as anonymous:
        for name, url in [
            ("landing", "/"),
            ("login", "/login"),
            ("signup", "/signup"),
            ("password-forgot", "/password/forgot"),
            ("privacy", "/privacy"),
            ("offline", "/offline"),
        ]:
            await visit(anonymous, name, url)
        await visit(anonymous, "not-found", "/nowhere", 404)
        await visit(anonymous, "password-reset-bad-link", "/password/reset?token=nope", 400)
        pages["login-errors"] = (await _post(anonymous, "/login", {"email": "x@exemple.fr", "password": "faux"})).text
        pages["signup-errors"] = (await _post(anonymous, "/signup", {"first_name": "", "email": "pas-un-email"})).text

    async with _visitor(server) as newcomer:
        signup = {"first_name": "Inès", "last_name": "Nouvelle", "email": "ines.valid@exemple.fr"}
        await _post(newcomer, "/signup", {**signup, "password": "les tilleuls de la place"})
        await visit(newcomer, "signup-address", "/signup/address")
        await visit(newcomer, "signup-address-found", "/signup/address?q=12+rue+de+la+liberte+dijon")
        await visit(newcomer, "signup-address-suggested", "/signup/address?q=6+rue+de+la+rocket+paris")
        await visit(newcomer, "signup-address-unknown", "/signup/address?q=zzz+qqq+xxx", 422)

    async with _visitor(server) as client:
        await _log_in(client, paul)
        await _post(client, f"/posts/{post_id}/replies", {"body": "Je peux l'emprunter samedi ?"})
        await _post(client, f"/posts/{event_id}/signup", {})
        await visit(client, "poll-before-vote", f"/posts/{poll_id}")
        options = await polls.options_of((await polls.for_post(poll_id))["id"])
        await _post(client, f"/posts/{poll_id}/vote", {"option": str(options[0]["id"])})
        await _post(client, f"/posts/{post_id}/report", {"reason": "spam", "text": ""})

    async with _visitor(server) as client:
        await _log_in(client, claire)
        for name, url in [
            ("feed", "/feed"),
            ("feed-search", "/feed?q=perceuse"),
            ("post", f"/posts/{post_id}"),
            ("post-new-choose", "/posts/new"),
            ("post-new", "/posts/new?kind=lend"),
            ("events", "/events"),
            ("event", f"/posts/{event_id}"),
            ("event-series", f"/posts/{series_id}"),
            ("event-new", "/events/new"),
            ("poll", f"/posts/{poll_id}"),
            ("discussion-new", "/posts/new?kind=discussion"),
            ("messages", "/messages"),
            ("notifications", "/notifications"),
            ("settings", "/settings"),
            ("settings-profile", "/settings/profile"),
            ("settings-notifications", "/settings/notifications"),
            ("profile", f"/users/{paul.id}"),
            ("neighbours", "/neighbours"),
            ("moderation-public", "/moderation/public"),
            ("offline-logged-in", "/offline"),
        ]:
            await visit(client, name, url)
        await visit(client, "not-found-logged-in", "/posts/999999999", 404)
        await visit(client, "conversation", f"/messages/{conversation_id}")
        new_post = await _post(client, "/posts", {"kind": "lend", "title": "", "body": ""}, files={"photos": ("", b"")})
        assert new_post.status_code == 422
        pages["post-new-errors"] = new_post.text
        bad_poll = {"kind": "discussion", "title": "Sondage", "body": "?", "poll_option_1": "Oui", "poll_closes_on": ""}
        pages["discussion-new-errors"] = (await _post(client, "/posts", bad_poll, files={"photos": ("", b"")})).text

    async with _visitor(server) as client:
        await _log_in(client, moderator)
        for name, url in [
            ("moderation", "/moderation"),
            ("moderation-log", "/moderation/log"),
            ("moderation-letters", "/moderation/letters"),
            ("moderation-post", f"/posts/{post_id}"),
        ]:
            await visit(client, name, url)

    forming = await make_neighbourhood(status="forming")
    async with _visitor(server) as client:
        await _log_in(client, await make_user(forming, first_name="Attente"))
        await visit(client, "waiting", "/feed")
    return pages


async def test_every_page_is_valid_html(server, tmp_path):
    _validator()
    pages = await _pages(server)
    # The pages are the full ones: the photo, the reply, the form's messages are there to be checked.
    assert "/photos/" in pages["post"] and "emprunter samedi" in pages["post"]
    assert (
        'aria-invalid="true"' in pages["post-new-errors"] and "Vouliez-vous dire" in pages["signup-address-suggested"]
    )
    assert "<meter" in pages["poll"] and 'aria-invalid="true"' in pages["discussion-new-errors"]
    assert "Bonjour Claire" in pages["conversation"] and "Repas de quartier" in pages["events"]

    errors = _errors(pages, tmp_path)

    assert errors == {}, json.dumps(errors, ensure_ascii=False, indent=1)
