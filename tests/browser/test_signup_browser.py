"""The signup story in Chromium, with and without JavaScript."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


async def test_neighbour_signs_up_in_the_browser(page):
    await page.goto("/")
    await assert_accessible(page)
    await page.get_by_role("link", name="S'inscrire").first.click()
    await page.wait_for_url("**/signup")
    await assert_accessible(page)

    await page.get_by_label("Prénom").fill("Claire")
    await page.get_by_label("Nom", exact=True).fill("Martin")
    await page.get_by_label("Adresse e-mail").fill(f"claire.{uuid.uuid4().hex[:8]}@exemple.fr")
    await page.get_by_label("Mot de passe").fill("court")
    await page.get_by_role("button", name="Continuer").click()
    # The weak password is explained next to the field; the name is kept.
    await page.get_by_text("au moins 8 caractères").wait_for()
    assert await page.get_by_label("Prénom").input_value() == "Claire"
    await assert_accessible(page)

    await page.get_by_label("Mot de passe").fill("les tilleuls de la place")
    await page.get_by_role("button", name="Continuer").click()
    await page.wait_for_url("**/signup/address")
    await assert_accessible(page)

    await page.get_by_label("Adresse (numéro, rue, ville)").press_sequentially("12 r de la liberte dijon", delay=20)
    if not page.js:
        await page.get_by_role("button", name="Rechercher").click()
    # With htmx the candidates arrive while typing; without, after the search.
    candidate = page.get_by_label("12 Rue de la Liberté, 21000 Dijon")
    await candidate.wait_for()
    await assert_accessible(page)
    await candidate.check()
    await page.get_by_role("button", name="Confirmer cette adresse").click()
    await page.wait_for_url(re.compile(r".*/feed.*"))
    await page.get_by_role("heading", level=1).filter(has_text="Centre").wait_for()
    assert "Bienvenue" in await page.content()
    await assert_accessible(page)


async def test_login_settings_and_logout_pages_are_accessible(page):
    await page.goto("/login")
    await assert_accessible(page)
    await page.goto("/password/forgot")
    await assert_accessible(page)
    await page.goto("/privacy")
    await assert_accessible(page)
    await page.goto("/nulle-part")
    await assert_accessible(page)


async def test_neighbour_logs_in_changes_settings_and_logs_out(page):
    from app.neighbourhoods import queries as neighbourhoods
    from tests.factories import PASSWORD, make_user

    user = await make_user(await neighbourhoods.by_slug("dijon-centre"), first_name="Odile")
    await page.goto("/login")
    await page.get_by_label("Adresse e-mail").fill(user.email)
    await page.get_by_label("Mot de passe").fill("pas le bon")
    await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_text("incorrect").first.wait_for()
    assert await page.get_by_label("Adresse e-mail").input_value() == user.email
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(re.compile(r".*/feed"))
    await page.get_by_text("Centre").first.wait_for()
    await assert_accessible(page)

    await page.goto("/settings")
    await assert_accessible(page)
    await page.get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    await page.goto("/settings")
    await page.wait_for_url(re.compile(r".*/login.*"))


async def test_address_outside_every_quartier_joins_the_waiting_list(page):
    await page.goto("/signup")
    await page.get_by_label("Prénom").fill("Lucien")
    await page.get_by_label("Nom", exact=True).fill("Bernard")
    await page.get_by_label("Adresse e-mail").fill(f"lucien.{uuid.uuid4().hex[:8]}@exemple.fr")
    await page.get_by_label("Mot de passe").fill("les tilleuls de la place")
    await page.get_by_role("button", name="Continuer").click()
    await page.wait_for_url("**/signup/address")
    await page.get_by_label("Adresse (numéro, rue, ville)").fill("5 avenue du drapeau dijon")
    if not page.js:
        await page.get_by_role("button", name="Rechercher").click()
    await page.get_by_label("5 Avenue du Drapeau, 21000 Dijon").wait_for()
    await page.get_by_role("button", name="Confirmer cette adresse").click()
    await page.get_by_role("button", name="Rejoindre la liste d'attente").wait_for()
    await assert_accessible(page)
    await page.get_by_role("button", name="Rejoindre la liste d'attente").click()
    await page.wait_for_url(re.compile(r".*/feed.*"))
    assert "liste d'attente" in (await page.content())
    await assert_accessible(page)
