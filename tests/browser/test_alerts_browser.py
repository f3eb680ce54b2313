"""Urgent alerts in Chromium, with JavaScript on and off: a neighbour proposes
one, a moderator publishes it from the queue in one click, and every
neighbour's feed opens with the alert's region and heading on top."""

from __future__ import annotations

import re

import pytest

from app.alerts.tables import Alert
from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.browser.test_posts_browser import _log_in
from tests.factories import make_moderator
from tests.factories_posts import neighbours

pytestmark = pytest.mark.browser


async def _other_person(browser, server, user, *, js: bool):
    context = await browser.new_context(
        java_script_enabled=js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    page = await context.new_page()
    page.js = js
    await _log_in(page, user)
    return context, page


async def test_a_proposed_alert_is_published_from_the_queue_and_tops_every_feed(page, browser, server):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    await _log_in(page, claire)
    await page.get_by_role("link", name="Publier une annonce").click()
    await page.get_by_role("link", name="Signaler une urgence au quartier").click()
    await page.wait_for_url("**/alerts/new")
    await assert_accessible(page)
    await page.get_by_label("Titre court").fill("Coupure d'eau rue des Lilas")
    await page.get_by_label("Ce qu'il faut savoir").fill("Fuite sur la conduite, réparation dans la journée.")
    if page.js:
        # A category forgotten past the browser's own check: the server's
        # message shows next to the field, the text is kept.
        await page.evaluate("document.querySelector('#f-category').removeAttribute('required')")
        await page.get_by_role("button", name="Proposer l'alerte").click()
        await page.locator("#f-category-error").get_by_text("Choisissez une des options proposées.").wait_for()
        assert await page.get_by_label("Titre court").input_value() == "Coupure d'eau rue des Lilas"
    await page.get_by_label("Type d'alerte").select_option(label="Coupure d'eau")
    await page.get_by_role("button", name="Proposer l'alerte").click()
    await page.wait_for_url(re.compile(r".*/alerts/\d+\?notice=alert_proposed"))
    await page.get_by_text("Proposée, en attente de la modération").wait_for()

    context, moderating = await _other_person(browser, server, moderator, js=page.js)
    await moderating.goto("/moderation/alerts")
    item = moderating.locator("li.proposal", has_text="Coupure d'eau rue des Lilas")
    await assert_accessible(moderating)
    await item.get_by_role("button", name="Publier à tout le quartier").click()
    if page.js:
        # htmx swaps the one item: the moderator stays on the queue.
        await item.get_by_text("Publiée : le quartier est prévenu.").wait_for()
    else:
        await moderating.wait_for_url(re.compile(r".*/moderation/alerts\?notice=alert_published"))
    assert await Alert.count().where((Alert.author == claire.id) & (Alert.status == "published")) == 1
    await context.close()

    context, reading = await _other_person(browser, server, paul, js=page.js)
    banner = reading.get_by_role("region", name="Alerte en cours dans le quartier")
    await banner.get_by_role("link", name=re.compile("Coupure d'eau rue des Lilas")).wait_for()
    await assert_accessible(reading)
    await banner.get_by_role("link", name=re.compile("Coupure d'eau rue des Lilas")).click()
    await reading.get_by_text("Fuite sur la conduite").wait_for()
    await assert_accessible(reading)
    await context.close()
