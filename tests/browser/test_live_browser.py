"""Open pages that update themselves: a conversation open in two browsers, a
post's thread, each on its own app process (PostgreSQL; one process on
SQLite). Without JavaScript the same pages show the news on reload."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import expect

from app.messages.queries import send
from app.settings import get_settings
from tests.browser.conftest import device
from tests.browser.test_notifications_browser import VISIBILITY
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import make_post, neighbours
from tests.server import ServerProcess, signed_in_on

pytestmark = pytest.mark.browser

# Page loads get the time a loaded 2-core machine needs; the news, two
# seconds from the moment they were sent.
LIVE = 2000


@pytest.fixture(scope="module")
def other_server(server):
    """Where the other neighbour is: a second app process on PostgreSQL (the
    news cross over by NOTIFY), the same single process on SQLite."""
    if not get_settings().is_postgres:
        yield server
        return
    process = ServerProcess()
    yield process
    process.stop()


async def test_a_conversation_open_in_two_browsers_shows_each_message_without_reload(
    page, browser, server, other_server
):
    _hood, (claire, paul) = await neighbours(2)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire, la poussette est prête.")
    await _log_in(page, claire)
    await page.goto(f"/messages/{conversation_id}")
    await page.get_by_text("la poussette est prête").wait_for()

    # Paul writes from his own browser, served by the other process.
    other = await browser.new_context(base_url=other_server.url, locale="fr-FR", extra_http_headers=device())
    paul_page = await other.new_page()
    await _log_in(paul_page, paul)
    await paul_page.goto(f"/messages/{conversation_id}")
    if page.js:
        await page.evaluate("window.neverReloaded = true")
    await paul_page.get_by_label("Votre réponse").fill("Je passe la prendre à 18 h.")
    await paul_page.get_by_role("button", name="Envoyer").click()
    await paul_page.locator(".messages li").filter(has_text="Je passe la prendre à 18 h.").wait_for()
    sent = time.monotonic()

    news = page.locator(".messages li").filter(has_text="Je passe la prendre à 18 h.")
    if page.js:
        await expect(news).to_be_visible(timeout=LIVE)
        assert time.monotonic() - sent < LIVE / 1000
        assert await page.evaluate("window.neverReloaded") is True
        # Seen as it arrived: read, no unread count left in the inbox.
        await expect(page.locator(".messages li[hidden]")).to_have_count(0, timeout=LIVE)
        inbox = await (await page.request.get("/messages")).text()
        assert 'class="unread"' not in inbox.split('class="conversations"')[1]
        # And back the other way, to Paul's page, as it is written.
        await page.get_by_label("Votre réponse").fill("Parfait, à tout à l'heure !")
        await page.get_by_role("button", name="Envoyer").click()
        await page.locator(".messages li").filter(has_text="à tout à l'heure").wait_for()
        await expect(paul_page.locator(".messages li").filter(has_text="à tout à l'heure")).to_be_visible(timeout=LIVE)
    else:
        # Nothing moves without JavaScript; a reload shows the message.
        await expect(news).to_have_count(0)
        await page.reload()
        await expect(news).to_be_visible()
    await other.close()


async def test_an_open_post_shows_new_replies_and_a_hidden_tab_catches_up_when_seen(browser, server, other_server):
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    context = await browser.new_context(base_url=server.url, locale="fr-FR", extra_http_headers=device())
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.add_init_script(VISIBILITY)
    await _log_in(page, claire)
    await page.goto(f"/posts/{post_id}")
    await page.get_by_role("heading", name="0 réponse").wait_for()
    paul_client = await signed_in_on(other_server.url, paul)
    replies = page.locator(".reply")
    try:
        await _reply(paul_client, post_id, "Je peux l'emprunter samedi ?")
        sent = time.monotonic()
        await expect(replies.filter(has_text="samedi")).to_be_visible(timeout=LIVE)
        assert time.monotonic() - sent < LIVE / 1000
        await expect(page.get_by_role("heading", name="1 réponse")).to_be_visible()

        # The phone's screen goes off: its stream is closed, nothing arrives.
        await page.evaluate("setTabHidden(true)")
        await page.wait_for_timeout(500)
        await _reply(paul_client, post_id, "Ou dimanche matin ?")
        await page.wait_for_timeout(2500)
        await expect(replies.filter(has_text="dimanche")).to_have_count(0)

        # Seen again: it reconnects and catches up with what came meanwhile.
        await page.evaluate("setTabHidden(false)")
        await expect(replies.filter(has_text="dimanche")).to_be_visible(timeout=10_000)
        await expect(page.get_by_role("heading", name="2 réponses")).to_be_visible()
        await expect(replies).to_have_count(2)
        assert page.url.endswith(f"/posts/{post_id}")
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    finally:
        await paul_client.aclose()
        await context.close()


async def _reply(client, post_id: int, text: str) -> None:
    answer = await client.post(
        f"/posts/{post_id}/replies", data={"_csrf_token": client.cookies["csrftoken"], "body": text}
    )
    assert answer.status_code == 303 and re.search(r"/posts/\d+#replies$", answer.headers["location"])
