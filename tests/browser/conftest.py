"""Debian's Chromium through Playwright, with JavaScript on and off."""

from __future__ import annotations

import itertools

import pytest
from playwright.async_api import async_playwright

from tests.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


_devices = itertools.count(1)


def device() -> dict:
    """Each person in a story is on their own device, behind their own address,
    as the server sees them through its trusted proxy: the suite's many logins
    must not add up against one address's rate limit."""
    n = next(_devices)
    return {"X-Forwarded-For": f"10.77.{n // 250}.{n % 250 + 1}"}


@pytest.fixture(scope="session")
def server():
    process = ServerProcess()
    yield process
    process.stop()


@pytest.fixture(scope="session")
async def browser():
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        await b.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
async def page(request, browser, server):
    context = await browser.new_context(
        java_script_enabled=request.param, base_url=server.url, locale="fr-FR", extra_http_headers=device()
    )
    page = await context.new_page()
    page.js = request.param
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "422" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    yield page
    await context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp
