"""Saving a post and finding it in /saved, thanking who helped, sharing a
post's link: in Chromium, with and without JavaScript."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import expect

from app.posts import queries
from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import make_post, neighbours

pytestmark = pytest.mark.browser


async def test_neighbour_saves_a_post_finds_it_in_saved_and_shares_its_link(page, server):
    _hood, (claire, paul) = await neighbours(2)
    title = f"Tondeuse {uuid.uuid4().hex[:6]}"
    post_id = await make_post(claire, kind="lend", title=title, details={"loan_days": 3})
    await _log_in(page, paul)
    await page.goto(f"/posts/{post_id}")
    await page.get_by_role("button", name=re.compile(r"^Enregistrer")).click()
    await page.get_by_role("button", name=re.compile(r"^Enregistré")).wait_for()
    if page.js:
        # htmx turned the button in place: still the same page, no reload.
        assert page.url.endswith(f"/posts/{post_id}")

    # Headless Chromium has no share sheet: the link to copy stands in for it.
    link = page.get_by_label("Lien de l'annonce")
    await expect(link).to_have_value(re.compile(rf"^http.*/posts/{post_id}$"))
    await expect(page.get_by_role("button", name="Partager")).to_be_hidden()
    copy = page.get_by_role("button", name="Copier le lien")
    if page.js:
        await expect(copy).to_be_visible()
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        await copy.click()
        await page.get_by_text("Lien copié.").wait_for()
        assert await page.evaluate("navigator.clipboard.readText()") == await link.input_value()
    else:
        await expect(copy).to_be_hidden()
    await assert_accessible(page)

    await page.goto(f"/users/{paul.id}")
    await page.get_by_role("link", name="Annonces enregistrées").click()
    await page.get_by_role("heading", name="Annonces enregistrées").wait_for()
    await page.get_by_role("link", name=title).wait_for()
    await assert_accessible(page)
    # Forgetting it from the list.
    await page.get_by_role("button", name=re.compile(r"^Enregistré")).click()
    await page.get_by_role("button", name=re.compile(r"^Enregistrer")).wait_for()
    await page.goto("/saved")
    await page.get_by_text("Aucune annonce enregistrée").wait_for()


async def test_author_thanks_the_neighbour_who_helped(page, browser, server):
    _hood, (claire, paul) = await neighbours(2)
    title = f"Perceuse {uuid.uuid4().hex[:6]}"
    post_id = await make_post(claire, title=title)
    await queries.add_reply(post_id, paul.id, "Je passe la chercher ce soir.")
    await _log_in(page, claire)
    await page.goto(f"/posts/{post_id}")
    await page.get_by_role("button", name="Remercier et clore l'annonce").click()
    # Nobody chosen: the reason shows by the choices.
    await page.locator("#f-helper-error").filter(has_text="Choisissez qui vous a aidé").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Paul V.").check()
    await page.get_by_role("button", name="Remercier et clore l'annonce").click()
    await page.locator("p.thanks").filter(has_text="Merci à Paul V.").wait_for()
    assert "Donné" in await page.content()

    other = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    paul_page = await other.new_page()
    paul_page.js = page.js
    await _log_in(paul_page, paul)
    await paul_page.locator(".post").filter(has_text=title).get_by_text("Merci à Paul V.").wait_for()
    await paul_page.goto(f"/users/{paul.id}")
    await paul_page.get_by_text("a aidé 1 voisin").wait_for()
    await assert_accessible(paul_page)
    await other.close()
