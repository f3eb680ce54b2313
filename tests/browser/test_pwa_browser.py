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
        assert sizes == {("192x192", "any"): (192, 192), ("512x512", "any"): (512, 512), ("512x512", "maskable"): (512, 512)}


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
