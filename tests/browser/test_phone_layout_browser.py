"""A neighbour on a phone, JavaScript on and off: the posts come first, the
menu opens without a script, nothing scrolls sideways and nothing jumps."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from playwright.async_api import expect

from app.messages import queries as messages
from app.notify.queries import notify
from app.posts import queries as posts
from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories import make_moderator
from tests.factories_events import make_event
from tests.factories_posts import encoded_photo, jpeg_bytes, make_post, neighbours

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
SMALL_PHONE = {"width": 320, "height": 640}
# One word of 60 letters, and a URL without a place to break.
LONG_WORD = "Anticonstitutionnellementdéraisonnablementinterminablemotxyz"
LONG_URL = "https://exemple.fr/annonces/" + "a1b2c3d4e5" * 6
# Where each list's first item is.
FIRST_ITEM = {"/feed": ".posts .post", "/events": ".events li", "/messages": ".conversations li"}


async def _busy_quartier():
    """A moderator (the longest menu) with posts, events, a conversation and
    unread notifications, in a quartier whose neighbours write long words."""
    neighbourhood, (paul,) = await neighbours(1)
    claire = await make_moderator(neighbourhood, first_name="Claire")
    for n in range(3):
        await make_post(paul, title=f"Escabeau à prêter {n}", body="Pour repeindre un plafond, ce week-end.")
    await make_event(paul, title="Repas partagé dans la cour")
    await make_event(paul, title="Troc de graines", in_days=5)
    await messages.send(paul.id, claire.id, "Bonjour Claire, l'escabeau est encore libre ?")
    await notify([claire.id], "reply_to_post", url="/feed", params={"who": "Paul", "title": "Votre annonce"})
    return claire, paul


async def _top_of_first(page, path: str) -> float:
    await page.goto(path)
    return await page.locator(FIRST_ITEM[path]).first.evaluate("e => e.getBoundingClientRect().top")


async def test_on_a_phone_the_first_post_event_and_conversation_show_in_the_first_screen(page):
    claire, _paul = await _busy_quartier()
    await page.set_viewport_size(PHONE)
    await _log_in(page, claire)
    # Before: three lines of links and four of filters put the first post at 582 px.
    for path in ("/feed", "/events", "/messages"):
        assert await _top_of_first(page, path) <= 300, path
    await assert_accessible(page)
    # The header is one line: the name, the notifications with their count, the menu.
    header = page.locator("header.top")
    assert (await header.bounding_box())["height"] <= 60
    badge = page.locator("#notif-badge")
    await expect(badge).to_have_text("Notifications 1 non lue")
    await expect(badge).to_be_in_viewport()
    # The filters are one line that scrolls sideways, the page itself does not.
    chips = page.locator("nav.chips a")
    await page.goto("/feed")
    tops = {round((await chips.nth(i).bounding_box())["y"]) for i in range(await chips.count())}
    assert len(tops) == 1
    await page.get_by_role("link", name="Perdu/trouvé").click()
    await page.wait_for_url(re.compile(r".*/feed\?kind=lost"))


async def test_the_menu_opens_without_javascript_and_every_destination_is_in_it(page):
    claire, _paul = await _busy_quartier()
    await page.set_viewport_size(PHONE)
    await _log_in(page, claire)
    header = page.locator("header.top")
    await expect(header.get_by_role("link", name="Événements")).to_be_hidden()
    # By keyboard: the menu is the next stop after the notifications.
    below = await page.locator("main h1").bounding_box()
    await page.locator("#notif-badge").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    for name in ("Mon quartier", "Événements", "Entraide", "Messages", "Modération", "Réglages"):
        await expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    await expect(header.get_by_role("button", name="Se déconnecter")).to_be_visible()
    # Opened, the menu lies over the page: what was below does not move.
    assert (await page.locator("main h1").bounding_box())["y"] == below["y"]
    await assert_accessible(page)
    await page.keyboard.press("Tab")  # « Mon quartier »
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/events$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Événements du quartier")
    await page.get_by_text("Menu", exact=True).click()
    await header.get_by_role("link", name="Messages", exact=True).click()
    await page.wait_for_url(re.compile(r".*/messages$"))


async def test_on_a_wide_screen_every_link_shows_in_the_header_line(page):
    claire, _paul = await _busy_quartier()
    await page.set_viewport_size({"width": 1280, "height": 800})
    await _log_in(page, claire)
    await expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    header = page.locator("header.top")
    assert (await header.bounding_box())["height"] <= 60
    for name in ("Mon quartier", "Événements", "Entraide", "Messages", "Modération", "Réglages", "Notifications"):
        await expect(header.get_by_role("link", name=re.compile(name))).to_be_visible()
    await header.get_by_role("link", name="Entraide").click()
    await page.wait_for_url(re.compile(r".*/neighbours$"))


async def test_long_words_and_urls_wrap_on_a_small_phone(page):
    neighbourhood, (paul,) = await neighbours(1)
    claire = await make_moderator(neighbourhood, first_name=LONG_WORD, email=f"long.{uuid.uuid4().hex[:8]}@exemple.fr")
    post_id = await make_post(paul, title=f"Donne {LONG_WORD}", body=f"Voir {LONG_URL} et {LONG_WORD}.")
    await posts.add_reply(post_id, claire.id, f"Merci ! {LONG_URL}")
    event_id = await make_event(paul, title=f"Fête {LONG_WORD}", place=LONG_WORD)
    conversation_id = await messages.send(paul.id, claire.id, f"{LONG_WORD} {LONG_URL}", post_id=post_id)
    await page.set_viewport_size(SMALL_PHONE)
    await _log_in(page, claire)
    for path in (
        "/feed",
        f"/posts/{post_id}",
        "/events",
        f"/posts/{event_id}",
        "/messages",
        f"/messages/{conversation_id}",
    ):
        await page.goto(path)
        await page.get_by_text(re.compile(LONG_WORD[:30])).first.wait_for()
        width = await page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
        assert width[0] <= width[1], (path, width)


LAYOUT_SHIFT = """() => new Promise(done => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const shift of list.getEntries()) if (!shift.hadRecentInput) total += shift.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => done(total), 1500);
})"""


async def test_nothing_jumps_while_a_page_loads(page):
    if not page.js:
        pytest.skip("the layout shift is measured by a script in the page")
    claire, paul = await _busy_quartier()
    photo = await encoded_photo(jpeg_bytes(1600, 1200))
    post_id = await posts.create_post(
        author=paul, kind="give", title="Vélo d'enfant", body="Roues de 16 pouces.", details={}, photos=[photo]
    )
    event_id = await make_event(paul, title="Vide-grenier de la rue")
    conversation_id = await messages.send(paul.id, claire.id, "Le vélo est pour vous.", post_id=post_id)
    await page.set_viewport_size(PHONE)
    await _log_in(page, claire)
    # Slow photos: they arrive well after the page is laid out.
    await page.route("**/photos/**", _late)
    for path in (
        "/feed",
        f"/posts/{post_id}",
        "/events",
        f"/posts/{event_id}",
        "/messages",
        f"/messages/{conversation_id}",
    ):
        await page.goto(path)
        assert await page.evaluate(LAYOUT_SHIFT) <= 0.1, path


async def _late(route):
    await asyncio.sleep(0.6)
    await route.continue_()
