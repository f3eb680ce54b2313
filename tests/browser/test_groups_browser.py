"""Interest groups in Chromium, with and without JavaScript: a group created,
joined from the quartier voisin, and a post in it read by its members only."""

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


async def _other_page(browser, server, page, user):
    context = await browser.new_context(
        java_script_enabled=page.js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    other = await context.new_page()
    other.js = page.js
    await _log_in(other, user)
    return context, other


async def test_a_group_is_created_joined_from_next_door_and_its_post_read_by_members(page, browser, server):
    _quartiers, (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    name = f"Coureurs {uuid.uuid4().hex[:6]}"
    await _log_in(page, claire)
    await page.get_by_role("link", name="Groupes").first.click()
    await page.wait_for_url(re.compile(r".*/groups$"))
    # A name too short is told next to the field and kept.
    await page.get_by_label("Nom du groupe").fill("Co")
    await page.get_by_label("Thème").select_option("sport")
    await page.get_by_role("button", name="Créer le groupe").click()
    await page.get_by_text("3 caractères au moins.").wait_for()
    assert await page.get_by_label("Nom du groupe").input_value() == "Co"
    await page.get_by_label("Nom du groupe").fill(name)
    await page.get_by_role("button", name="Créer le groupe").click()
    await page.wait_for_url(re.compile(r".*/groups/\d+$"))
    await page.get_by_role("heading", name=name).wait_for()
    await assert_accessible(page)
    group_url = page.url

    # Paul, from the quartier voisin, joins: htmx swaps the button, a plain form reloads the page.
    paul_context, paul_page = await _other_page(browser, server, page, paul)
    await paul_page.goto("/groups")
    await paul_page.get_by_role("link", name=name).click()
    await paul_page.get_by_role("button", name="Rejoindre le groupe").click()
    await paul_page.get_by_role("button", name="Quitter le groupe").wait_for()
    await paul_page.get_by_role("link", name="Publier dans le groupe").click()
    await paul_page.get_by_role("link", name="Discussion").click()
    await paul_page.get_by_label("Titre").fill("Sortie dimanche 9 h")
    await paul_page.get_by_label("Description").fill("Départ du parc.")
    await paul_page.get_by_role("button", name="Publier").click()
    await paul_page.wait_for_url(re.compile(r".*/posts/\d+$"))
    post_url = paul_page.url
    await paul_context.close()

    await page.goto(group_url)
    await page.get_by_role("link", name="Sortie dimanche 9 h").wait_for()
    await assert_accessible(page)

    # Hugo, of the quartier but not a member, does not find it.
    hugo_context, hugo_page = await _other_page(browser, server, page, hugo)
    response = await hugo_page.goto(post_url)
    assert response.status == 404
    await hugo_page.goto("/feed")
    assert "Sortie dimanche 9 h" not in await hugo_page.content()
    await hugo_context.close()


async def test_an_admin_accepts_a_request_and_names_an_admin_from_the_group_s_page(page):
    from app.groups import queries as groups

    (tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    name = f"Chorale {uuid.uuid4().hex[:6]}"
    group_id = await groups.create_group(
        creator_id=claire.id,
        neighbourhood_id=tilleuls.id,
        name=name,
        description="",
        topic="culture",
        joining="request",
    )
    await groups.join(group_id, hugo.id, "pending")
    await _log_in(page, claire)
    await page.goto(f"/groups/{group_id}")
    requests = page.get_by_role("region", name="Demandes pour rejoindre")
    await requests.get_by_role("button", name="Accepter").click()
    if page.js:
        # Swapped in place: Hugo's line says where he stands, the page stays.
        await requests.get_by_text("Fait partie du groupe").wait_for()
        await page.reload()
    members = page.get_by_role("region", name="Membres")
    await members.get_by_text("Hugo M.").wait_for()
    await members.get_by_role("button", name="Nommer administrateur ou administratrice").click()
    if page.js:
        await members.get_by_text("Administre le groupe").wait_for()
    else:
        # The plain form reloads the page: Hugo, now admin, leaves the list of members to name.
        await page.get_by_role("heading", name=name).wait_for()
        assert await members.get_by_text("Hugo M.").count() == 0
    await assert_accessible(page)
