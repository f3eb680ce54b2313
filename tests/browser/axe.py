"""axe-core in the page: serious and critical violations fail the test."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe

_axe = Axe()


async def assert_accessible(page) -> None:
    if not page.js:
        # axe is injected as a script: the JavaScript-off context cannot run it,
        # and the markup is the same in both contexts.
        return
    results = await _axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]
