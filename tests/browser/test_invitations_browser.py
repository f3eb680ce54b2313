"""Invitations in Chromium: a newcomer follows a member's link through the
signup with JavaScript on and off, and the printed flyer and letter carry a
QR code that a decoder reads back as that link."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import zxingcpp
from PIL import Image

from app.invitations import queries as invitations
from app.neighbourhoods import queries as neighbourhoods
from tests.browser.axe import assert_accessible
from tests.browser.conftest import device
from tests.browser.test_posts_browser import _log_in
from tests.factories import make_neighbourhood, make_user

pytestmark = pytest.mark.browser

MM = 72 / 25.4  # PDF points per millimetre


async def _member_page(browser, server, user, *, js: bool = True):
    context = await browser.new_context(
        java_script_enabled=js, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    page = await context.new_page()
    page.js = js
    # The inline SVG of the QR code must not need what the strict CSP refuses.
    page.refused = []
    page.on("console", lambda m: page.refused.append(m.text) if "Content Security Policy" in m.text else None)
    await _log_in(page, user)
    return context, page


async def _invitation_link(page) -> str:
    # « Inviter des voisins » in the phone's menu, « Inviter » on a wide screen's line.
    await page.get_by_role("link", name=re.compile(r"^Inviter")).first.click()
    await page.wait_for_url("**/invitations")
    # Viewing the page stores nothing: the member asks for their link.
    await page.get_by_role("button", name="Créer mon lien d'invitation").click()
    return await page.locator(".invite-link a").inner_text()


async def test_a_newcomer_follows_the_link_into_the_quartier_with_and_without_javascript(page, browser, server):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice", last_name="Quintaval")
    context, member = await _member_page(browser, server, inviter, js=page.js)
    link = await _invitation_link(member)
    await assert_accessible(member)
    assert not member.refused, member.refused
    await context.close()

    await page.goto(link)
    await page.get_by_role("heading", name=f"Bérénice vous invite à rejoindre le quartier {centre.name}").wait_for()
    assert "Quintaval" not in await page.content()
    await assert_accessible(page)
    await page.get_by_role("link", name="Rejoindre le quartier").click()
    await page.wait_for_url(re.compile(r".*/signup\?invite="))
    await page.get_by_text(f"Invitation au quartier {centre.name} (Dijon)").wait_for()
    await page.get_by_label("Prénom").fill("Gaston")
    await page.get_by_label("Nom", exact=True).fill("Lagaffe")
    await page.get_by_label("Adresse e-mail").fill(f"gaston.{uuid.uuid4().hex[:8]}@exemple.fr")
    await page.get_by_label("Mot de passe").fill("les tilleuls de la place")
    await page.get_by_role("button", name="Continuer").click()
    await page.wait_for_url("**/signup/address")
    await page.get_by_text(f"Votre invitation : quartier {centre.name}").wait_for()
    assert await invitations.accepted_count(inviter.id) == 0

    await page.get_by_label("Adresse (numéro, rue, ville)").press_sequentially("12 r de la liberte dijon", delay=20)
    if not page.js:
        await page.get_by_role("button", name="Rechercher").click()
    candidate = page.get_by_label("12 Rue de la Liberté, 21000 Dijon")
    await candidate.wait_for()
    await candidate.check()
    await page.get_by_role("button", name="Confirmer cette adresse").click()
    await page.wait_for_url(re.compile(r".*/feed.*"))
    await page.get_by_role("heading", level=1).filter(has_text=centre.name).wait_for()
    assert await invitations.accepted_count(inviter.id) == 1


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size of each page of a PDF Chromium printed, in points."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def _qr_text(png: bytes) -> list[str]:
    return [
        r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png))) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


@pytest.mark.parametrize(("paper", "width_mm", "height_mm"), [("flyer", 148, 210), ("letter", 210, 297)])
async def test_the_printed_flyer_and_letter_fit_their_sheet_and_their_qr_code_reads_back_as_the_link(
    browser, server, tmp_path, paper, width_mm, height_mm
):
    forming = await make_neighbourhood(status="forming")
    inviter = await make_user(forming, first_name="Bérénice", last_name="Quintaval")
    context, page = await _member_page(browser, server, inviter)
    link = await _invitation_link(page)
    await page.goto(f"{link}/{paper}")
    pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
    (tmp_path / "print.pdf").write_bytes(pdf)
    [(width, height)] = _pages(pdf)
    assert abs(width - width_mm * MM) < 2 and abs(height - height_mm * MM) < 2

    # The printed page as a phone's camera would see it: print media, at the sheet's size.
    await page.emulate_media(media="print")
    await page.set_viewport_size({"width": round(width_mm * 96 / 25.4), "height": round(height_mm * 96 / 25.4)})
    png = await page.screenshot(full_page=True)
    (tmp_path / "print.png").write_bytes(png)
    assert _qr_text(png) == [link]
    assert await page.locator("header.top").is_hidden()
    assert not page.refused, page.refused
    await context.close()
