"""Asking the quartier with a poll and voting in Chromium, with and without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import neighbours

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def _fits_the_phone(page) -> None:
    await page.set_viewport_size(PHONE)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


async def test_a_neighbour_asks_with_a_poll_and_another_votes_then_changes_their_vote(page, browser, server):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await _log_in(page, claire)
    await page.goto("/posts/new?kind=discussion")
    await _fits_the_phone(page)
    await assert_accessible(page)
    await page.get_by_label("Titre").fill("Quel jour pour la fête des voisins ?")
    await page.get_by_label("Description").fill("Votez, on décide dimanche.")
    await page.get_by_label("Option 1").fill("Samedi")
    await page.get_by_label("Option 2").fill("samedi ")
    await page.get_by_role("button", name="Publier").click()
    await page.get_by_text("Cette option est déjà proposée.").wait_for()
    assert await page.get_by_label("Option 1").input_value() == "Samedi"
    await page.get_by_label("Option 2").fill("Dimanche")
    await page.get_by_role("button", name="Publier").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    post_url = page.url
    # The author sees how the quartier answers from the start.
    await page.get_by_text("0 vote · 0 %").first.wait_for()

    context = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", viewport=PHONE
    )
    paul_page = await context.new_page()
    paul_page.js = page.js
    try:
        await _log_in(paul_page, paul)
        await paul_page.goto(post_url)
        await paul_page.get_by_text("Les résultats s'affichent une fois que vous avez voté.").wait_for()
        assert await paul_page.locator("meter").count() == 0
        await _fits_the_phone(paul_page)
        await assert_accessible(paul_page)
        await paul_page.get_by_role("button", name="Voter").click()
        await paul_page.get_by_text("Choisissez une option.").wait_for()
        await paul_page.get_by_role("radio", name="Samedi").check()
        await paul_page.get_by_role("button", name="Voter").click()
        await paul_page.get_by_text("1 vote · 100 %").wait_for()
        if paul_page.js:
            # Swapped in place: still the same page, no navigation.
            assert paul_page.url == post_url
        await assert_accessible(paul_page)
        await _fits_the_phone(paul_page)
        await paul_page.get_by_role("radio", name="Dimanche").check()
        await paul_page.get_by_role("button", name="Changer mon vote").click()
        await paul_page.locator(".poll-results li", has_text="Dimanche").get_by_text("1 vote · 100 %").wait_for()
        await paul_page.locator(".poll-results li", has_text="Samedi").get_by_text("0 vote · 0 %").wait_for()
    finally:
        await context.close()
    await page.goto("/feed")
    await page.get_by_text("Sondage · 1 vote").wait_for()
