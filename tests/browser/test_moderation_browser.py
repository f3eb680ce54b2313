"""A report handled from start to end in Chromium, with JavaScript on and off."""

from __future__ import annotations

import re

import pytest

from app.posts.tables import Reply
from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.browser.test_posts_browser import _log_in
from tests.factories import make_moderator, make_user
from tests.factories_posts import make_post, neighbours

pytestmark = pytest.mark.browser


async def _person(browser, server, js: bool, user):
    context = await browser.new_context(
        java_script_enabled=js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    page = await context.new_page()
    page.js = js
    await _log_in(page, user)
    return context, page


async def _send_report(page, reason: str) -> None:
    await page.get_by_label(reason).check()
    await page.get_by_role("button", name="Envoyer le signalement").click()
    await page.get_by_text("votre signalement est transmis").wait_for()


async def test_a_reported_reply_is_hidden_and_its_author_suspended(page, browser, server):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    post_id = await make_post(claire, title="Cours de guitare")
    reply = (await Reply.insert(Reply(post=post_id, author=paul.id, body="Gagnez 5000 € par jour, cliquez ici")))[0][
        "id"
    ]

    # Claire reports the reply from the thread.
    await _log_in(page, claire)
    await page.goto(f"/posts/{post_id}")
    await page.locator(f"#reply-{reply}").get_by_role("link", name="Signaler").click()
    await page.wait_for_url(re.compile(rf".*/report/reply/{reply}"))
    await assert_accessible(page)
    await page.get_by_role("button", name="Envoyer le signalement").click()
    await page.get_by_text("Choisissez une des options proposées.").wait_for()
    await _send_report(page, "Spam")

    # The moderator finds it in the queue, hides the reply, closes the report.
    mod_context, mod = await _person(browser, server, page.js, moderator)
    await mod.goto("/moderation")
    await mod.get_by_text("Gagnez 5000 €").wait_for()
    assert "Claire" not in await mod.locator("main").inner_text()
    await assert_accessible(mod)
    await mod.get_by_role("link", name="voir la discussion").click()
    await mod.wait_for_url(re.compile(rf".*/posts/{post_id}"))
    await mod.locator(f"#f-hide-{reply}").fill("Publicité frauduleuse")
    await mod.locator(f"#reply-{reply}").get_by_role("button", name="Masquer la réponse").click()
    await mod.locator(f"#reply-{reply}").get_by_role("button", name="Rendre visible").wait_for()
    await mod.goto("/moderation")
    await mod.get_by_role("button", name="Traité").click()
    await mod.get_by_text("Aucun signalement en attente.").wait_for()

    # Then suspends its author for a week, from his profile.
    paul_context, paul_page = await _person(browser, server, page.js, paul)
    await mod.goto(f"/users/{paul.id}")
    await assert_accessible(mod)
    await mod.get_by_role("button", name="Suspendre", exact=True).click()
    await mod.get_by_text("Choisissez une des options proposées.").wait_for()
    await mod.get_by_label("7 jours").check()
    await mod.get_by_label("Motif (envoyé à la personne)").fill("Spam répété")
    await mod.get_by_role("button", name="Suspendre", exact=True).click()
    await mod.get_by_text("Le compte est suspendu").wait_for()
    await mod.goto("/moderation/log")
    await mod.get_by_text("Compte suspendu").wait_for()
    await assert_accessible(mod)

    # Paul's open session ended: his next page is the login form.
    await paul_page.goto("/feed")
    await paul_page.wait_for_url(re.compile(r".*/login"))
    # Claire no longer sees the words.
    await page.goto(f"/posts/{post_id}")
    await page.get_by_text("Réponse masquée par la modération.").wait_for()
    assert "Gagnez" not in await page.content()
    await mod_context.close()
    await paul_context.close()


async def test_trust_pages_are_accessible(page):
    neighbourhood, (claire,) = await neighbours(1)
    admin = await make_user(neighbourhood, first_name="Adèle", role="admin")
    await _log_in(page, admin)
    for url, heading in (
        ("/moderation/team", "Équipe de modération"),
        ("/moderation/letters", "Lettres de vérification"),
        ("/verify", "Faire vérifier mon compte"),
        (f"/report/user/{claire.id}", "Signaler le profil"),
    ):
        await page.goto(url)
        await page.get_by_role("heading", name=re.compile(heading)).first.wait_for()
        await assert_accessible(page)
    await page.goto("/moderation/team")
    await page.get_by_label("Adresse e-mail de la personne").fill(claire.email)
    await page.get_by_label("Quartier").select_option(str(neighbourhood.id))
    await page.get_by_role("button", name="Nommer").click()
    await page.locator("main").get_by_text(f"Claire V. · {neighbourhood.name},").wait_for()


async def test_a_reported_message_reaches_the_moderator_alone_and_is_dismissed(page, browser, server):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    # Paul writes to Claire from his profile page.
    paul_context, paul_page = await _person(browser, server, page.js, paul)
    await paul_page.goto(f"/users/{claire.id}")
    await paul_page.get_by_role("link", name=re.compile("Écrire à")).click()
    await paul_page.get_by_label("Votre message").fill("Prête-moi ta carte bleue, je te rembourse")
    await paul_page.get_by_role("button", name="Envoyer").click()
    await paul_page.wait_for_url(re.compile(r".*/messages/\d+"))

    await _log_in(page, claire)
    await page.goto("/messages")
    await page.get_by_role("link", name=re.compile("Paul")).click()
    await page.get_by_role("link", name="Signaler ce message").click()
    await page.get_by_text("Seul ce message sera montré à la modération").wait_for()
    await _send_report(page, "Arnaque")

    mod_context, mod = await _person(browser, server, page.js, moderator)
    await mod.goto("/moderation")
    item = mod.locator("li").filter(has_text="Prête-moi ta carte bleue")
    await item.wait_for()
    await item.get_by_label("Note (facultatif, pour l'équipe)").fill("Averti par message")
    await item.get_by_role("button", name="Rejeter").click()
    await mod.get_by_text("Aucun signalement en attente.").wait_for()
    await mod_context.close()
    await paul_context.close()
