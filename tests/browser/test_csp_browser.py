"""The strict Content Security Policy refuses nothing on our own pages: no
inline style or script anywhere, signed in or not, photos opened on their own too."""

from __future__ import annotations

import re

import pytest

from app.posts import queries as posts
from tests.browser.test_posts_browser import _log_in
from tests.factories_posts import encoded_photo, jpeg_bytes, neighbours

pytestmark = pytest.mark.browser

REPORT = """
document.addEventListener("securitypolicyviolation", (e) =>
  window.reportViolation([location.pathname, e.violatedDirective, e.sample || e.blockedURI].join(" ")));
"""


async def test_no_page_breaks_the_content_security_policy(page):
    _neighbourhood, (claire,) = await neighbours(1)
    photo = await encoded_photo(jpeg_bytes(1600, 1200), "perceuse.jpg")
    post_id = await posts.create_post(
        author=claire,
        kind="lend",
        title="Perceuse à prêter",
        body="Avec sa mallette.",
        details={"loan_days": 7},
        photos=[photo],
    )
    violations: list[str] = []
    if page.js:
        await page.expose_function("reportViolation", lambda text: violations.append(text))
        await page.add_init_script(REPORT)

    for path in ("/", "/login", "/signup", "/privacy", "/password/forgot"):
        await page.goto(path)
    await _log_in(page, claire)
    for path in (
        "/events",
        "/events/new",
        "/neighbours",
        "/messages",
        "/notifications",
        "/settings",
        "/settings/notifications",
        "/posts/new",
        "/feed",
    ):
        await page.goto(path)
    # Into the post the way a neighbour goes (a boosted click with JavaScript), then its photo alone.
    await page.get_by_role("link", name="Perceuse à prêter").click()
    await page.wait_for_url(re.compile(rf".*/posts/{post_id}$"))
    await page.locator(".photos a").first.click()
    await page.wait_for_url(re.compile(rf".*/photos/{photo.name}/large$"))
    assert await page.evaluate("document.images[0].complete && document.images[0].naturalWidth") == photo.width
    await page.goto("/static/icons/icon-192.png")
    await page.wait_for_timeout(200)

    refused = [p for p in page.problems if "Content Security Policy" in p]
    assert refused == [] and violations == [], refused + violations
