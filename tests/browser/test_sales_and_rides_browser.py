"""Selling and covoiturage in Chromium, with and without JavaScript."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import make_post, neighbours
from tests.factories_rides import make_ride

pytestmark = pytest.mark.browser


async def test_neighbour_sells_a_bike_and_finds_it_under_the_chip(page):
    _neighbourhood, (claire,) = await neighbours(1)
    title = f"Vélo enfant {uuid.uuid4().hex[:6]}"
    await make_post(claire, kind="give", title="Cartons à donner")
    await _log_in(page, claire)
    await page.goto("/posts/new?kind=sale")
    await assert_accessible(page)
    await page.get_by_label("Titre").fill(title)
    await page.get_by_label("Description").fill("Roues de 16 pouces, bon état.")
    await page.get_by_label("Prix en euros").fill("12,505")
    await page.get_by_role("button", name="Publier").click()
    await page.get_by_text("Deux chiffres après la virgule au plus (les centimes).").first.wait_for()
    assert await page.get_by_label("Titre").input_value() == title
    await page.get_by_label("Prix en euros").fill("12,50")
    await page.get_by_role("button", name="Publier").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    await page.get_by_text("12,50\u00a0€").first.wait_for()
    await assert_accessible(page)
    await page.goto("/feed")
    await page.get_by_role("navigation", name="Filtrer par type").get_by_role("link", name="À vendre").click()
    await page.wait_for_url(re.compile(r".*/feed\?kind=sale"))
    await page.get_by_role("link", name=title).wait_for()
    assert await page.get_by_text("Cartons à donner").count() == 0
    await page.get_by_text("12,50\u00a0€").first.wait_for()
    await assert_accessible(page)


async def test_neighbour_takes_a_seat_and_gives_it_back(page):
    _neighbourhood, (claire, paul) = await neighbours(2)
    ride = await make_ride(claire, title="Marché de Beaune", seats=1)
    await _log_in(page, paul)
    await page.goto(f"/posts/{ride}")
    await page.get_by_text("1 place libre").wait_for()
    await assert_accessible(page)
    await page.get_by_role("button", name="Prendre une place").click()
    await page.get_by_text("Vous avez une place dans ce covoiturage.").wait_for()
    await page.get_by_text("Complet").first.wait_for()
    if page.js:
        # Swapped in place: still the same page, no navigation.
        assert page.url.endswith(f"/posts/{ride}")
    await assert_accessible(page)
    await page.get_by_role("button", name="Rendre ma place").click()
    await page.get_by_role("button", name="Prendre une place").wait_for()
    await page.get_by_text("1 place libre").wait_for()


async def test_driver_offers_a_ride_from_the_form(page):
    _neighbourhood, (claire,) = await neighbours(1)
    await _log_in(page, claire)
    await page.goto("/posts/new?kind=ride")
    await assert_accessible(page)
    await page.get_by_label("Titre").fill("Gare de Dijon jeudi")
    await page.get_by_label("Description").fill("Départ devant la mairie.")
    await page.get_by_label("Départ de").fill("Mairie")
    await page.get_by_label("Destination").fill("Gare de Dijon")
    await page.get_by_label("Date et heure du départ").fill("2020-01-01T08:00")
    await page.get_by_label("Places proposées").fill("2")
    await page.get_by_role("button", name="Publier").click()
    # Wait for the server's answer, not the inline check's same message: typing
    # into the old form would be lost when the answer replaces it.
    await page.wait_for_url(re.compile(r".*/posts$"))
    await page.get_by_text("Cette date est déjà passée.").first.wait_for()
    assert await page.get_by_label("Destination").input_value() == "Gare de Dijon"
    later = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=3)).strftime("%Y-%m-%dT08:00")
    await page.get_by_label("Date et heure du départ").fill(later)
    await page.get_by_role("button", name="Publier").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    await page.get_by_text("Qui vient avec vous ?").wait_for()
    await page.get_by_text("2 places libres").wait_for()
    await assert_accessible(page)
