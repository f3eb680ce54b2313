"""A weekly event in Chromium, with and without JavaScript: the organiser
makes the series, a neighbour comes on its second date only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.events import queries
from app.events.tables import Occurrence
from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.browser.test_posts_browser import _log_in
from tests.factories_events import local
from tests.factories_posts import neighbours
from tests.test_events import _future

pytestmark = pytest.mark.browser


async def test_organiser_makes_a_weekly_series_and_a_neighbour_comes_on_the_second_date(page, browser, server):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await _log_in(page, claire)
    await page.goto("/events/new")
    start = _future(days=9, hour=18)
    await page.get_by_label("Titre").fill("Atelier couture")
    await page.get_by_label("Description").fill("Apportez vos vêtements à repriser.")
    await page.get_by_label("Début").fill(local(start))
    await page.get_by_label("Fin").fill(local(start + timedelta(hours=2)))
    await page.get_by_label("Lieu").fill("Maison de quartier")
    await page.get_by_label("Nombre de places").fill("2")
    await page.get_by_label("Chaque semaine (ou toutes les 2, 3, 4 semaines)").check()
    await page.get_by_role("button", name="Publier l'événement").click()
    # Neither an end date nor a number of times: said at the field, the rest kept.
    await page.get_by_text("Indiquez jusqu'à quand l'événement se répète, ou combien de fois.").wait_for()
    assert await page.get_by_label("Lieu").input_value() == "Maison de quartier"
    assert await page.get_by_label("Chaque semaine (ou toutes les 2, 3, 4 semaines)").is_checked()
    await assert_accessible(page)
    await page.get_by_label("Ou nombre de fois").fill("4")
    await page.get_by_role("button", name="Publier l'événement").click()
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    post_id = int(page.url.rsplit("/", 1)[1])
    await page.get_by_text("Chaque semaine, le").wait_for()
    await assert_accessible(page)

    event = await queries.for_post(post_id)
    dates = await Occurrence.select().where(Occurrence.event == event["id"]).order_by(Occurrence.starts_at)
    assert len(dates) == 4
    context = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    neighbour = await context.new_page()
    neighbour.js = page.js
    try:
        await _log_in(neighbour, paul)
        await neighbour.goto(f"/posts/{post_id}")
        second = neighbour.locator(f"#date-{dates[1]['id']}")
        await second.get_by_role("button", name="Je participe").click()
        await second.get_by_text("Vous participez.").wait_for()
        await second.get_by_text("1 place restante").wait_for()
        first = neighbour.locator(f"#date-{dates[0]['id']}")
        assert await first.get_by_text("Vous participez.").count() == 0
        assert await first.get_by_text("2 places restantes").count() == 1
        if neighbour.js:
            assert neighbour.url.endswith(f"/posts/{post_id}")
        await assert_accessible(neighbour)
        await neighbour.locator(f"#date-{dates[1]['id']}").get_by_role("button", name="Me désinscrire").click()
        await neighbour.locator(f"#date-{dates[1]['id']}").get_by_text("2 places restantes").wait_for()
        # The quartier's calendar lists each date of the series.
        await neighbour.goto("/events")
        assert await neighbour.get_by_role("link", name="Atelier couture").count() == 4
        await assert_accessible(neighbour)
    finally:
        await context.close()
