"""A session ended elsewhere: the next thing the page does lands on the login
page, as a whole page, and logging in again comes back to where one was."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import device
from tests.browser.test_notifications_browser import MINUTE
from tests.browser.test_posts_browser import _log_in
from tests.factories import PASSWORD
from tests.factories_posts import make_post, neighbours

pytestmark = pytest.mark.browser


async def _log_out_other_devices(browser, server, user) -> None:
    """The same person, on their laptop, ends every other session."""
    laptop = await browser.new_context(base_url=server.url, locale="fr-FR", extra_http_headers=device())
    page = await laptop.new_page()
    page.js = True
    await _log_in(page, user)
    await page.goto("/settings")
    await page.get_by_role("button", name="Déconnecter mes autres appareils").click()
    await page.wait_for_url(re.compile(r".*notice=others_logged_out"))
    await laptop.close()


async def _is_the_login_page_alone(page) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    # One page: one header, one navigation, one login form.
    assert await page.locator("header.top").count() == 1
    assert await page.locator("form[action='/login']").count() == 1


async def test_a_reply_after_a_logout_elsewhere_lands_on_the_login_page_and_comes_back(page, browser, server):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul, title="Escabeau à prêter")
    await _log_in(page, claire)
    await page.goto(f"/posts/{post_id}")
    await _log_out_other_devices(browser, server, claire)

    await page.get_by_label("Votre réponse").fill("Je peux le prendre samedi ?")
    await page.get_by_role("button", name="Répondre").click()
    await page.wait_for_url(re.compile(rf".*/login\?next=/posts/{post_id}$"))
    await _is_the_login_page_alone(page)

    await page.get_by_label("Adresse e-mail").fill(claire.email)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(re.compile(rf".*/posts/{post_id}$"))
    await page.get_by_role("heading", name="Escabeau à prêter").wait_for()


async def test_an_idle_page_whose_session_ended_goes_to_the_login_page_at_its_next_poll(browser, server):
    _neighbourhood, (claire,) = await neighbours(1)
    context = await browser.new_context(base_url=server.url, locale="fr-FR", extra_http_headers=device())
    page = await context.new_page()
    page.js = True
    await page.clock.install()
    await _log_in(page, claire)
    await page.goto("/events")
    await _log_out_other_devices(browser, server, claire)

    await page.clock.run_for(MINUTE)
    await page.wait_for_url(re.compile(r".*/login\?next=/events$"))
    await _is_the_login_page_alone(page)
    await context.close()
