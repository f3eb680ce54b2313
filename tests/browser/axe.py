"""axe-core in the page: serious and critical violations fail the test.

axe is a script: a JavaScript-off page is checked as its reader gets it, by
loading the same markup (scripts left out, <noscript> shown) into a page that
may run axe."""

from __future__ import annotations

import re

from axe_playwright_python.async_playwright import Axe

_axe = Axe()
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_NOSCRIPT = re.compile(r"</?noscript>", re.I)


async def assert_accessible(page) -> None:
    if page.js:
        results = await _axe.run(page)
    else:
        results = await _without_javascript(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


async def _without_javascript(page):
    markup = _NOSCRIPT.sub("", _SCRIPT.sub("", await page.content()))
    context = await page.context.browser.new_context(java_script_enabled=True, locale="fr-FR")
    try:
        await context.add_cookies(await page.context.cookies())
        checker = await context.new_page()
        url = page.url
        await checker.route(url, lambda route: route.fulfill(body=markup, content_type="text/html; charset=utf-8"))
        await checker.goto(url)
        return await _axe.run(checker)
    finally:
        await context.close()
