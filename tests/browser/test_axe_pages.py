"""Every main page passes axe with JavaScript on and off, for the visitor,
the neighbour and the moderator who see it."""

from __future__ import annotations

import pytest

from app.messages import queries as messages
from app.posts import queries as posts
from tests.browser.axe import assert_accessible
from tests.browser.test_posts_browser import _log_in
from tests.factories import make_moderator
from tests.factories_events import make_event
from tests.factories_posts import encoded_photo, jpeg_bytes, neighbours

pytestmark = pytest.mark.browser

ANONYMOUS = ["/", "/login", "/signup", "/password/forgot", "/privacy", "/offline", "/nowhere"]
NEIGHBOUR = [
    "/feed",
    "/feed?q=perceuse",
    "post",
    "event",
    "/posts/new",
    "/posts/new?kind=lend",
    "/events",
    "/events/new",
    "/messages",
    "conversation",
    "/notifications",
    "/settings",
    "/settings/profile",
    "/settings/notifications",
    "profile",
    "/neighbours",
    "/moderation/public",
]
MODERATOR = ["/moderation", "/moderation/log", "/moderation/letters"]


async def _story():
    """A quartier with a lent drill (photo, a reply), a meal, a conversation."""
    neighbourhood, (claire, paul) = await neighbours(2)
    photo = await encoded_photo(jpeg_bytes(800, 600))
    post_id = await posts.create_post(
        author=paul, kind="lend", title="Perceuse à prêter", body="Avec ses mèches.", details={}, photos=[photo]
    )
    await posts.add_reply(post_id, claire.id, "Je peux l'emprunter samedi ?")
    event_id = await make_event(paul, title="Repas de quartier", capacity=12)
    conversation_id = await messages.send(paul.id, claire.id, "Bonjour Claire, la perceuse est libre.")
    places = {
        "post": f"/posts/{post_id}",
        "event": f"/posts/{event_id}",
        "conversation": f"/messages/{conversation_id}",
        "profile": f"/users/{paul.id}",
    }
    return neighbourhood, claire, places


@pytest.mark.parametrize("path", ANONYMOUS)
async def test_a_visitor_page_is_accessible(page, path):
    await page.goto(path)
    await assert_accessible(page)


@pytest.mark.parametrize("where", NEIGHBOUR)
async def test_a_neighbour_page_is_accessible(page, where):
    _neighbourhood, claire, places = await _story()
    await _log_in(page, claire)
    await page.goto(places.get(where, where))
    await assert_accessible(page)


@pytest.mark.parametrize("path", MODERATOR)
async def test_a_moderator_page_is_accessible(page, path):
    neighbourhood, _claire, _places = await _story()
    await _log_in(page, await make_moderator(neighbourhood))
    await page.goto(path)
    await assert_accessible(page)


async def test_the_new_post_form_with_its_errors_is_accessible(page):
    _neighbourhood, claire, _places = await _story()
    await _log_in(page, claire)
    await page.goto("/posts/new?kind=give")
    # Blanks pass the browser's own checks; the server refuses them next to each field.
    await page.get_by_label("Titre").fill("   ")
    await page.get_by_label("Description").fill("   ")
    await page.get_by_role("button", name="Publier").click()
    await page.locator("[aria-invalid=true]").first.wait_for()
    await assert_accessible(page)


async def test_the_signup_steps_with_their_errors_are_accessible(page):
    await page.goto("/signup")
    await page.get_by_label("Prénom").fill("   ")
    await page.get_by_label("Nom", exact=True).fill("   ")
    await page.get_by_label("Adresse e-mail").fill("ines@exemple.fr")
    await page.get_by_label("Mot de passe").fill("court")
    await page.get_by_role("button", name="Continuer").click()
    await page.locator("[aria-invalid=true]").first.wait_for()
    await assert_accessible(page)
