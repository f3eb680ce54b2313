"""The installable app in Chromium: manifest, service worker, offline page."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.server import ServerProcess

pytestmark = pytest.mark.browser


async def test_manifest_is_complete_and_its_icons_load(server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/manifest.webmanifest")
        assert response.headers["content-type"].startswith("application/manifest+json")
        manifest = response.json()
        assert manifest["short_name"] == "Voisinage" and manifest["lang"] == "fr"
        assert manifest["start_url"] == "/feed" and manifest["display"] == "standalone" and manifest["theme_color"]
        sizes = {}
        for icon in manifest["icons"]:
            image = Image.open(io.BytesIO((await client.get(icon["src"])).content))
            sizes[(icon["sizes"], icon["purpose"])] = image.size
        assert sizes == {
            ("192x192", "any"): (192, 192),
            ("512x512", "any"): (512, 512),
            ("512x512", "maskable"): (512, 512),
        }


async def test_service_worker_controls_the_page_and_the_offline_page_replaces_the_error(browser):
    own = ServerProcess()
    context = await browser.new_context(base_url=own.url, locale="fr-FR")
    page = await context.new_page()
    try:
        await page.goto("/")
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        await page.reload()
        assert await page.evaluate("navigator.serviceWorker.controller !== null")
        manifest_errors = await (await context.new_cdp_session(page)).send("Page.getAppManifest")
        assert manifest_errors["errors"] == []
    finally:
        own.stop()
    await page.goto("/privacy")
    assert "Pas de connexion" in await page.content()
    await context.close()


async def test_a_push_shows_a_notification_with_its_title(browser, server):
    """Chromium cannot subscribe here (that needs its vendor's push service),
    so the push is handed to the service worker through the DevTools protocol."""
    context = await browser.new_context(base_url=server.url, locale="fr-FR")
    await context.grant_permissions(["notifications"], origin=server.url)
    page = await context.new_page()
    await page.goto("/")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = await context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    await cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        await page.wait_for_timeout(100)
    registration = next(r for r in registrations if r["scopeURL"] == server.url + "/")
    data = '{"title":"Nouvelle réponse à votre annonce","body":"Paul V. a répondu","url":"/posts/1#replies","tag":"t1"}'
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": server.url, "registrationId": registration["registrationId"], "data": data},
    )
    titles = []
    for _ in range(50):
        titles = await page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => [n.title, n.body, n.data.url]))"
        )
        if titles:
            break
        await page.wait_for_timeout(100)
    assert titles == [["Nouvelle réponse à votre annonce", "Paul V. a répondu", "/posts/1#replies"]]
    await context.close()


async def test_notification_settings_with_and_without_javascript(page):
    from tests.browser.test_posts_browser import _log_in
    from tests.factories_posts import neighbours

    _neighbourhood, (claire,) = await neighbours(1)
    await _log_in(page, claire)
    await page.goto("/settings")
    await page.get_by_role("link", name="Activer les notifications et choisir ce qui me concerne").click()
    await page.wait_for_url("**/settings/notifications")
    assert await page.get_by_text("Sur iPhone ou iPad").is_visible()
    button = page.get_by_role("button", name="Activer les notifications", exact=True)
    if page.js:
        # Shown only where push exists; the permission is asked after the tap, never before.
        await button.wait_for(state="visible")
        assert await page.evaluate("Notification.permission") == "default"
        assert not await page.get_by_text("demandent JavaScript").is_visible()
    else:
        assert not await button.is_visible()
        assert await page.get_by_text("Les notifications sur l'appareil demandent JavaScript").is_visible()
    await page.get_by_label("Messages privés").select_option("email")
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_url("**/settings/notifications?notice=saved")
    assert await page.get_by_label("Messages privés").input_value() == "email"
    assert await page.get_by_label("Réponses à mes annonces").input_value() == "both"
    from tests.browser.axe import assert_accessible

    await assert_accessible(page)


async def test_a_link_or_a_reply_sent_without_network_says_so_and_keeps_the_page(browser, server):
    from tests.browser.conftest import device
    from tests.browser.test_posts_browser import _log_in
    from tests.factories_posts import make_post, neighbours

    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul, title="Escabeau à prêter")
    context = await browser.new_context(base_url=server.url, locale="fr-FR", extra_http_headers=device())
    page = await context.new_page()
    await _log_in(page, claire)
    await page.goto(f"/posts/{post_id}")
    offline = page.get_by_role("status").filter(has_text="Vous êtes hors ligne")

    await context.set_offline(True)
    await page.get_by_label("Votre réponse").fill("Je peux le prendre samedi ?")
    await page.get_by_role("button", name="Répondre").click()
    await offline.wait_for()
    assert await page.get_by_label("Votre réponse").input_value() == "Je peux le prendre samedi ?"
    await page.get_by_role("link", name="Événements").click()
    await offline.wait_for()
    assert page.url.endswith(f"/posts/{post_id}")

    await context.set_offline(False)
    await page.get_by_role("button", name="Répondre").click()
    await page.locator(".reply").filter(has_text="Je peux le prendre samedi ?").wait_for()
    assert not await offline.is_visible()
    await context.close()
