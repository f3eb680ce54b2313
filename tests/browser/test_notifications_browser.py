"""The unread badge in the navigation: shown by the server, asked again once a
minute while the tab is seen, never while it is hidden."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from app.notify.queries import notify
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import make_post, neighbours

pytestmark = pytest.mark.browser

# Headless Chromium keeps every tab visible: the tab's visibility is played
# here as the browser reports it (document.visibilityState and the
# visibilitychange event), the way a phone's screen lock or a tab switch does.
VISIBILITY = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState",
                        {configurable: true, get: () => hidden ? "hidden" : "visible"});
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => hidden});
  window.setTabHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
})();
"""
MINUTE = 60_000


async def _reply_to(claire, text: str = "Rappel") -> None:
    await notify([claire.id], "reply_to_post", url="/feed", params={"who": "Paul V.", "title": text})


async def test_an_idle_page_asks_for_the_badge_once_a_minute_and_never_while_hidden(page):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Tondeuse à prêter")
    await _reply_to(claire)
    badge = page.locator("#notif-badge")
    if not page.js:
        await _log_in(page, claire)
        # Counted by the server into the page: no script needed to see it.
        await expect(badge).to_have_text("Notifications 1 non lue")
        return

    await page.clock.install()
    await page.add_init_script(VISIBILITY)
    await _log_in(page, claire)
    await expect(badge).to_have_text("Notifications 1 non lue")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/notifications/badge" in r.url else None)

    async def idle(minutes: int) -> None:
        for _ in range(minutes):
            await page.clock.run_for(MINUTE)
            # The minute's answer (if any) arrives and is swapped in real time.
            await page.wait_for_timeout(400)

    # Three seconds of a real idle page: nothing is asked.
    await page.wait_for_timeout(3000)
    assert asked == []

    await _reply_to(claire, "Deuxième")
    await idle(5)
    assert len(asked) == 5, asked
    await expect(badge).to_have_text("Notifications 2 non lues")

    # The phone goes to sleep for ten minutes: not one request.
    await page.evaluate("setTabHidden(true)")
    await _reply_to(claire, "Troisième")
    await idle(10)
    assert len(asked) == 5, asked

    # Seen again: the badge is asked at once, and says what came meanwhile.
    await page.evaluate("setTabHidden(false)")
    await expect(badge).to_have_text("Notifications 3 non lues")
    assert len(asked) == 6, asked

    # Reading them is a relevant action: the badge says so on the next page.
    await badge.click()
    await page.wait_for_url(re.compile(r".*/notifications$"))
    await page.get_by_role("button", name="Tout marquer comme lu").click()
    await expect(badge).to_have_text("Notifications")
