"""Quartiers voisins in Chromium, with and without JavaScript: a post shown to
them, found through the feed's chip and answered from the quartier next door."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.factories import PASSWORD
from tests.factories_nearby import people_of_three_quartiers

pytestmark = pytest.mark.browser


async def _log_in(page, user):
    await page.goto("/login")
    await page.get_by_label("Adresse e-mail").fill(user.email)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(re.compile(r".*/feed"))


async def test_a_gift_shown_to_the_voisins_is_found_and_answered_next_door(page, browser, server):
    _quartiers, (claire, _hugo, paul, _lea) = await people_of_three_quartiers()
    title = f"Poussette {uuid.uuid4().hex[:6]}"
    await _log_in(page, claire)
    await page.goto("/posts/new?kind=give")
    await page.get_by_label("Titre").fill(title)
    await page.get_by_label("Description").fill("Pliable, bon état.")
    await page.get_by_label("Visible aussi par les quartiers voisins").check()
    await page.get_by_role("button", name="Publier").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    await page.get_by_text("Visible aussi par les quartiers voisins").wait_for()

    other = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    paul_page = await other.new_page()
    paul_page.js = page.js
    await _log_in(paul_page, paul)
    assert title not in await paul_page.content()
    await paul_page.get_by_role("link", name="Avec les quartiers voisins").click()
    await paul_page.wait_for_url(re.compile(r".*/feed\?nearby=1$"))
    await paul_page.get_by_text("Quartier voisin : Tilleuls").first.wait_for()
    await assert_accessible(paul_page)
    await paul_page.get_by_role("link", name=title).click()
    await paul_page.get_by_role("heading", name=title).wait_for()
    await paul_page.get_by_label("Votre réponse").fill("Elle me serait bien utile !")
    await paul_page.get_by_role("button", name="Répondre").click()
    await paul_page.locator(".reply").filter(has_text="Elle me serait bien utile !").wait_for()
    await assert_accessible(paul_page)
    await other.close()
