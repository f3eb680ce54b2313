"""Headers, CSRF, hosts and rate limits: what protects every page."""

from __future__ import annotations

import pytest

from app.neighbourhoods import queries as neighbourhoods
from app.settings import get_settings
from tests.factories import PASSWORD, ensure_csrf, login, make_user, post_form


async def test_every_page_sends_strict_security_headers(client):
    for path in ("/", "/login", "/signup", "/privacy", "/does-not-exist", "/static/app.css"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


async def test_a_photo_opened_alone_may_be_styled_by_the_browser_but_runs_nothing(client):
    """Chromium's image viewer styles its page inline; an SVG is a document of its own and stays strict."""
    png = (await client.get("/static/icons/icon-192.png")).headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in png and "default-src 'none'" in png and "script-src" not in png
    svg = (await client.get("/static/icons/icon.svg")).headers["content-security-policy"]
    assert "style-src 'self'" in svg and "unsafe-inline" not in svg


async def test_pages_carry_no_inline_script(client):
    for path in ("/", "/login", "/signup", "/privacy"):
        html = (await client.get(path)).text
        assert "<script>" not in html and " onclick=" not in html and "hx-on" not in html


async def test_post_without_csrf_token_is_refused_in_french(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await client.get("/login")
    response = await client.post("/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 403
    assert "formulaire a expiré" in response.text


async def test_htmx_requests_carry_the_token_in_a_header(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, user)
    token = client.cookies.get("csrftoken")
    page = await client.get("/settings")
    assert f'"x-csrftoken": "{token}"' in page.text.replace("&#34;", '"')
    response = await client.post("/settings/logout-others", headers={"x-csrftoken": token, "HX-Request": "true"})
    assert response.status_code == 303


async def test_unknown_host_is_refused(client):
    response = await client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400


async def test_login_attempts_are_rate_limited_per_account(client):
    # The whole story, with the owner's known devices, is in test_lockout.py.
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    statuses = [
        (await post_form(client, "/login", {"email": user.email, "password": "mauvais mot"})).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


async def test_rate_limit_page_is_in_french(client):
    for _ in range(10):
        await post_form(client, "/password/forgot", {"email": "someone@exemple.fr"})
    response = await post_form(client, "/password/forgot", {"email": "someone@exemple.fr"})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text
    assert response.headers["retry-after"]


async def test_signup_is_rate_limited_per_address(client):
    statuses = []
    for _i in range(11):
        response = await post_form(client, "/signup", {"first_name": "", "last_name": "", "email": "", "password": ""})
        statuses.append(response.status_code)
    assert statuses[-1] == 429 and 422 in statuses


async def test_not_found_is_a_french_page_not_a_crash(client):
    response = await client.get("/nulle-part")
    assert response.status_code == 404 and "Page introuvable" in response.text


@pytest.mark.parametrize("path", ["/feed", "/settings", "/signup/address"])
async def test_private_pages_send_anonymous_visitors_to_login(client, path):
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


async def test_private_pages_are_not_cached(client):
    """No shared cache keeps a page; the browser asks again before showing its own copy."""
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, user)
    cache_control = (await client.get("/feed")).headers["cache-control"]
    assert "private" in cache_control and ("no-cache" in cache_control or "no-store" in cache_control)


async def test_health_check_reports_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok", "disk": "ok"}


async def test_login_attempts_are_rate_limited_per_address_across_accounts(client):
    # Someone trying one password on many accounts is stopped by address.
    statuses = [
        (await post_form(client, "/login", {"email": f"inconnu{i}@exemple.fr", "password": "motdepasse"})).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [422] * 30 and statuses[30] == 429


@pytest.fixture
def on_https(monkeypatch):
    from app.settings import get_settings

    # Settings are read once per process, as in production: change the
    # environment, then forget the cached settings on both sides of the test.
    monkeypatch.setenv("VOISINAGE_BASE_URL", "https://voisinage.example")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_on_https_cookies_are_secure_host_only_and_hsts_is_sent(on_https):
    import httpx

    from app.main import create_app

    app = create_app(own_database=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="https://voisinage.example") as c:
        user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
        page = await c.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "__Host-csrftoken=" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]
        token = c.cookies.get("__Host-csrftoken")
        done = await c.post("/login", data={"email": user.email, "password": PASSWORD, "_csrf_token": token})
        assert done.status_code == 303
        session_cookie = [
            v for k, v in done.headers.multi_items() if k == "set-cookie" and v.startswith("__Host-session=")
        ]
        assert session_cookie and "Secure" in session_cookie[0] and "HttpOnly" in session_cookie[0]
        assert "Path=/" in session_cookie[0] and "Domain" not in session_cookie[0]


async def test_an_error_during_an_htmx_request_replaces_the_main_content_not_a_fragment(client):
    response = await client.get("/posts/999999999", headers={"HX-Request": "true"})
    # Not signed in: the whole window goes to the login page (see test_sessions).
    assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, user)
    response = await client.get("/posts/999999999", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#main" and "<html" not in response.text
    assert "Page introuvable" in response.text


async def test_a_forged_csrf_token_beyond_ascii_is_refused_in_french(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    token = await ensure_csrf(client)
    forged = token[:-2] + "é"
    login_form = {"email": user.email, "password": PASSWORD}
    answers = [
        await client.post("/login", data={**login_form, "_csrf_token": forged}),
        await client.post("/login", data=login_form, headers={"x-csrftoken": forged.encode("latin-1")}),
        await client.post(
            "/login", data=login_form, files={"_csrf_token": ("token.txt", token.encode(), "text/plain")}
        ),
        # The cookie half forged: bytes beyond ASCII as they come on the wire.
        await client.post(
            "/login",
            data={**login_form, "_csrf_token": token},
            headers={"cookie": b"csrftoken=" + forged.encode("latin-1")},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 403 and "formulaire a expiré" in answer.text
    assert get_settings().session_cookie not in client.cookies and (await client.get("/feed")).status_code == 303


async def test_numbers_no_row_can_have_are_pages_that_do_not_exist(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, user)
    for path in (
        "/posts/99999999999999999999",
        "/posts/2147483648",
        "/posts/-1",
        "/users/0",
        "/messages/9223372036854775808",
        "/messages/new?to=99999999999999999999",
        "/messages/new?to=%C2%B2",
        "/report/user/99999999999999999999",
    ):
        response = await client.get(path)
        assert response.status_code == 404 and "Page introuvable" in response.text, path
    assert (await post_form(client, "/posts/99999999999999999999/replies", {"body": "Bonjour"})).status_code == 404
    # A page cursor no row can have is simply the first page.
    for path in (
        "/feed?before=99999999999999999999",
        "/notifications?before=%C2%B2",
        "/events?after=x_1",
        "/events?after=0001-01-01T00:00%2B23:59_1",
    ):
        assert (await client.get(path)).status_code == 200, path


async def test_an_oversized_form_is_refused_before_being_read(client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    token = await ensure_csrf(client)
    response = await client.post("/login", data={"email": user.email, "password": "é" * 100_000, "_csrf_token": token})
    assert response.status_code == 413 and "formulaire est trop long" in response.text


async def test_static_names_no_file_can_have_are_not_found(client):
    for path in ("/static/app.js/x", "/static/" + "x" * 1000, "/static/a%00b", "/static/icons/%00"):
        response = await client.get(path)
        assert response.status_code == 404, path
