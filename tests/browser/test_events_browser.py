"""Organising and joining an event in Chromium, with and without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories_events import local, make_event
from tests.factories_posts import neighbours
from tests.test_events import _future

pytestmark = pytest.mark.browser


async def test_neighbour_organises_an_event(page):
    _neighbourhood, (claire,) = await neighbours(1)
    await _log_in(page, claire)
    await page.goto("/events")
    await assert_accessible(page)
    await page.get_by_role("link", name="Organiser un événement").first.click()
    await page.wait_for_url(re.compile(r".*/events/new"))
    await assert_accessible(page)
    start = _future(days=9, hour=12)
    await page.get_by_label("Titre").fill("Repas partagé")
    await page.get_by_label("Description").fill("Chacun apporte un plat.")
    await page.get_by_label("Début").fill(local(start))
    await page.get_by_label("Fin").fill(local(start - timedelta(hours=1)))
    await page.get_by_label("Lieu").fill("Square Darcy")
    await page.get_by_role("button", name="Publier l'événement").click()
    await page.get_by_text("La fin doit venir après le début.").wait_for()
    assert await page.get_by_label("Lieu").input_value() == "Square Darcy"
    await page.get_by_label("Fin").fill(local(start + timedelta(hours=3)))
    await page.get_by_role("button", name="Publier l'événement").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    await page.get_by_text("Square Darcy").first.wait_for()
    await assert_accessible(page)


async def test_neighbour_signs_up_and_withdraws(page):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, capacity=3, title="Atelier réparation")
    await _log_in(page, paul)
    await page.goto(f"/posts/{post_id}")
    await page.get_by_text("3 places restantes").wait_for()
    await page.get_by_role("button", name="Je participe").click()
    await page.get_by_text("Vous participez.").wait_for()
    await page.get_by_text("2 places restantes").wait_for()
    if page.js:
        # Swapped in place: still the same page, no navigation.
        assert page.url.endswith(f"/posts/{post_id}")
    await assert_accessible(page)
    await page.get_by_role("button", name="Me désinscrire").click()
    await page.get_by_role("button", name="Je participe").wait_for()
    await page.get_by_text("3 places restantes").wait_for()
