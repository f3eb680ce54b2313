"""The main tasks done with the keyboard alone (Tab to move, Enter or Space
to act, typing into fields), with JavaScript on and off: each element reached
shows where the focus is."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.test_posts_browser import _log_in
from tests.factories_events import make_event
from tests.factories_posts import make_post, neighbours

pytestmark = pytest.mark.browser


async def tab_to(page, target, limit: int = 80) -> None:
    """Presses Tab until `target` has the focus, each stop visibly focused."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        # Drawn, not only matched by :focus-visible: an outline or a shadow the eye sees.
        shown = await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none' }"
        )
        assert shown, "the focus is shown"
        if await target.and_(page.locator(":focus")).count():
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_signing_up_with_the_keyboard(page):
    await page.goto("/signup")
    for label, typed in [
        ("Prénom", "Inès"),
        ("Nom", "Clavier"),
        ("Adresse e-mail", f"ines.{uuid.uuid4().hex[:8]}@exemple.fr"),
        ("Mot de passe", "les tilleuls de la place"),
    ]:
        await tab_to(page, page.get_by_label(label, exact=True))
        await page.keyboard.type(typed)
    await tab_to(page, page.get_by_role("button", name="Continuer"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/signup/address"))

    await tab_to(page, page.get_by_label("Adresse (numéro, rue, ville)"))
    await page.keyboard.type("12 rue de la liberte dijon")
    await page.keyboard.press("Enter")
    choice = page.get_by_role("radio", name="12 Rue de la Liberté, 21000 Dijon")
    await choice.wait_for()
    await tab_to(page, choice)
    await page.keyboard.press("Space")
    assert await choice.is_checked()
    await tab_to(page, page.get_by_role("button", name="Confirmer cette adresse"))
    await page.keyboard.press("Space")
    await page.wait_for_url(re.compile(r".*/feed"))


async def test_posting_replying_and_joining_an_event_with_the_keyboard(page):
    _neighbourhood, (claire, paul) = await neighbours(2)
    asked = await make_post(paul, kind="help_request", title="Qui peut arroser mes plantes ?")
    meal = await make_event(paul, title="Repas de quartier", capacity=12)
    await _log_in(page, claire)

    await tab_to(page, page.get_by_role("link", name="Publier une annonce"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/posts/new$"))
    await tab_to(page, page.get_by_role("link", name="Don"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/posts/new\?kind=give"))
    await tab_to(page, page.get_by_label("Titre"))
    await page.keyboard.type("Poussette à donner")
    await tab_to(page, page.get_by_label("Description"))
    await page.keyboard.type("Pliable, avec sa capote.")
    await tab_to(page, page.get_by_role("button", name="Publier"))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/posts/\d+$"))
    await page.get_by_role("heading", name="Poussette à donner").wait_for()

    await page.goto(f"/posts/{asked}")
    await tab_to(page, page.get_by_label("Votre réponse"))
    await page.keyboard.type("Je passe ce soir.")
    await tab_to(page, page.get_by_role("button", name="Répondre"))
    await page.keyboard.press("Enter")
    await page.locator(".reply").filter(has_text="Je passe ce soir.").wait_for()

    await page.goto(f"/posts/{meal}")
    await tab_to(page, page.get_by_role("button", name="Je participe"))
    await page.keyboard.press("Space")
    await page.get_by_role("button", name="Me désinscrire").wait_for()
