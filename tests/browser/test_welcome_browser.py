"""Welcome and profile photos in Chromium, JavaScript on and off: a
neighbour meets the newcomers on their phone and writes one a welcome; the
newcomer adds, changes and removes their photo."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app.accounts.tables import User
from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import make_post, neighbours, png_bytes, unique_jpeg

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def _settled(people) -> None:
    """They have lived here for months: no newcomers any more."""
    long_ago = datetime.now(timezone.utc) - timedelta(days=200)
    await User.update({User.neighbourhood_joined_at: long_ago}).where(User.id.is_in([p.id for p in people]))


async def test_on_a_phone_a_neighbour_welcomes_a_newcomer(page, tmp_path):
    _hood, (claire, paul, lea) = await neighbours(3)
    await _settled([claire])
    for n in range(4):
        await make_post(claire, title=f"Perceuse à prêter {n}")
    await page.set_viewport_size(PHONE)
    await _log_in(page, claire)

    block = page.locator("details.newcomers")
    await block.locator("summary").get_by_text("2 arrivées").wait_for()
    # Closed, it is one line, after the first three annonces: on a phone they still come first.
    box = await block.bounding_box()
    assert box["height"] <= 60, box
    tops = await page.locator(".posts .post").evaluate_all("posts => posts.map(p => p.getBoundingClientRect().top)")
    assert len(tops) == 4 and tops[0] <= 300 and tops[2] < box["y"] < tops[3]
    await block.locator("summary").click()
    await page.get_by_role("link", name="Souhaiter la bienvenue à Paul V.").wait_for()
    # Opened, it fits the phone's width: nothing scrolls sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = await block.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    await page.screenshot(
        path=str(tmp_path / f"newcomers-{'js' if page.js else 'nojs'}.png"), full_page=True, caret="initial"
    )
    await assert_accessible(page)

    await page.get_by_role("link", name="Souhaiter la bienvenue à Paul V.").click()
    await page.wait_for_url(re.compile(rf".*/messages/new\?to={paul.id}&welcome=1"))
    message = page.get_by_label("Votre message")
    assert (await message.input_value()).startswith("Bonjour Paul, bienvenue dans le quartier !")
    await message.fill("Bienvenue Paul ! La boulangerie du coin est excellente.")
    await page.get_by_role("button", name="Envoyer").click()
    await page.wait_for_url(re.compile(r".*/messages/\d+"))
    await page.get_by_text("La boulangerie du coin est excellente.").wait_for()


async def test_a_newcomer_adds_changes_and_removes_their_photo(page, tmp_path):
    _hood, (paul,) = await neighbours(1)
    photo, second, not_a_photo = tmp_path / "paul.jpg", tmp_path / "paul2.png", tmp_path / "notes.txt"
    photo.write_bytes(unique_jpeg(900, 600))
    second.write_bytes(png_bytes(300, 500))
    not_a_photo.write_text("pas une photo")
    await page.set_viewport_size(PHONE)
    await _log_in(page, paul)
    await page.goto("/settings/profile")
    section = page.locator("#profile-photo")
    await section.locator(".avatar-initials").wait_for()

    await page.get_by_label("Ajouter une photo").set_input_files(str(not_a_photo))
    await page.get_by_role("button", name="Envoyer la photo").click()
    await section.locator("#f-photo-error").get_by_text("« notes.txt » n'est pas une photo").wait_for()
    await assert_accessible(page)

    await page.get_by_label("Ajouter une photo").set_input_files(str(photo))
    await page.get_by_role("button", name="Envoyer la photo").click()
    await section.locator("img.avatar-large").wait_for()
    first = await section.locator("img.avatar-large").get_attribute("src")
    # The image is really shown (decoded), at the size the page gives it.
    await page.wait_for_function("() => document.querySelector('#profile-photo img.avatar-large').naturalWidth > 0")
    assert await section.locator("img.avatar-large").evaluate("i => i.naturalWidth") == 256
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(
        path=str(tmp_path / f"photo-{'js' if page.js else 'nojs'}.png"), full_page=True, caret="initial"
    )

    await page.get_by_label("Changer de photo").set_input_files(str(second))
    await page.get_by_role("button", name="Envoyer la photo").click()
    await page.wait_for_function(
        "old => document.querySelector('#profile-photo img.avatar-large')?.getAttribute('src') !== old", arg=first
    )
    await assert_accessible(page)
    await page.goto(f"/users/{paul.id}")
    await page.locator("header.profile img.avatar-large").wait_for()

    await page.goto("/settings/profile")
    await page.get_by_role("button", name="Retirer la photo").click()
    await section.locator(".avatar-initials").wait_for()
    assert await section.locator("img").count() == 0
