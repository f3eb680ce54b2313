"""Recommendations in Chromium, with and without JavaScript: a business
recommended in one quartier, found from the quartier next door and backed
with « Moi aussi »; the form offers the entry that already exists."""

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


async def test_a_plumber_recommended_here_is_backed_from_the_quartier_next_door(page, browser, server):
    _quartiers, (claire, _hugo, paul, _lea) = await people_of_three_quartiers()
    name = f"Plomberie Arnaud {uuid.uuid4().hex[:6]}"
    await _log_in(page, claire)
    await page.get_by_role("link", name="Recommandations").first.click()
    await page.wait_for_url(re.compile(r".*/recommendations$"))
    await page.get_by_role("link", name="Recommander un pro ou un commerce").click()
    await page.get_by_label("Nom").fill(name)
    await page.get_by_label("Catégorie").select_option(label="Plomberie")
    await page.get_by_label("Commune").fill("Testville")
    await page.get_by_label("Téléphone").fill("0612")
    await page.get_by_label("Pourquoi le recommandez-vous ?").fill("Venu un dimanche, prix honnête.")
    await page.get_by_role("button", name="Recommander", exact=True).click()
    # The bad number is told at its field, the rest kept.
    await page.get_by_text("Ce numéro n'est pas un numéro français").wait_for()
    assert await page.get_by_label("Nom").input_value() == name
    await assert_accessible(page)
    await page.get_by_label("Téléphone").fill("+33 6 12 34 56 78")
    await page.get_by_role("button", name="Recommander", exact=True).click()
    await page.wait_for_url(re.compile(r".*/recommendations/\d+$"))
    await page.get_by_role("heading", name="Recommandé par 1 voisin").wait_for()
    await page.get_by_text("06 12 34 56 78").wait_for()
    await assert_accessible(page)

    other = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    paul_page = await other.new_page()
    paul_page.js = page.js
    await _log_in(paul_page, paul)
    # Typing the name offers the entry that exists (as the page does after a search without JavaScript).
    await paul_page.goto(f"/recommendations/new?name={name[:14]}")
    await paul_page.get_by_text(f"Déjà recommandé : {name} (Testville).").wait_for()
    if paul_page.js:
        await paul_page.get_by_label("Nom").fill("")
        # The offer goes as the name is cleared, and comes back as it is typed.
        await paul_page.get_by_text(f"Déjà recommandé : {name}").wait_for(state="detached")
        await paul_page.get_by_label("Nom").press_sequentially(name[:12])
        await paul_page.get_by_text(f"Déjà recommandé : {name}").wait_for()
    await paul_page.get_by_role("link", name="Ajouter votre avis").click()
    await paul_page.get_by_role("heading", name=name).wait_for()
    await paul_page.get_by_label("Un mot sur votre expérience").fill("Il a sauvé ma cuisine.")
    await paul_page.get_by_role("button", name="Moi aussi, je recommande").click()
    await paul_page.get_by_role("heading", name="Recommandé par 2 voisins").wait_for()
    await paul_page.locator("#reco-panel li p", has_text="Il a sauvé ma cuisine.").wait_for()
    await paul_page.get_by_role("button", name="Modifier mon avis").wait_for()
    await paul_page.get_by_role("button", name="Retirer ma recommandation").click()
    await paul_page.get_by_role("heading", name="Recommandé par 1 voisin").wait_for()
    await paul_page.get_by_role("button", name="Moi aussi, je recommande").click()
    await paul_page.get_by_role("heading", name="Recommandé par 2 voisins").wait_for()

    await paul_page.goto("/recommendations?category=plombier")
    await paul_page.get_by_role("link", name=name).wait_for()
    await paul_page.get_by_text("Recommandé par 2 voisins").first.wait_for()
    await assert_accessible(paul_page)
    await other.close()
