"""Sessions live on the server: login rotates them, logout and password changes end them."""

from __future__ import annotations

from app.accounts.sessions import _hash
from app.accounts.tables import Session, User
from app.neighbourhoods import queries as neighbourhoods
from tests.factories import PASSWORD, field_error, login, make_user, post_form


async def _neighbourhood():
    return await neighbourhoods.by_slug("dijon-centre")


async def test_a_planted_session_cookie_does_not_survive_login(client):
    user = await make_user(await _neighbourhood())
    client.cookies.set("session", "planted-by-an-attacker", domain="testserver.local")
    await login(client, user)
    assert client.cookies.get("session") not in (None, "planted-by-an-attacker")
    assert not await Session.exists().where(Session.token_hash == _hash("planted-by-an-attacker"))


async def test_login_twice_gives_a_new_session_and_drops_the_old_one(client):
    user = await make_user(await _neighbourhood())
    await login(client, user)
    first = client.cookies.get("session")
    await login(client, user)
    second = client.cookies.get("session")
    assert first != second
    assert not await Session.exists().where(Session.token_hash == _hash(first))


async def test_logout_ends_the_session_on_the_server(client):
    user = await make_user(await _neighbourhood())
    await login(client, user)
    token = client.cookies.get("session")
    out = await post_form(client, "/logout")
    assert out.status_code == 303
    assert not await Session.exists().where(Session.token_hash == _hash(token))
    # Someone who copied the cookie before logout gets nothing from it.
    client.cookies.set("session", token)
    again = await client.get("/feed")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_wrong_password_is_a_french_message_with_the_email_kept(client):
    user = await make_user(await _neighbourhood())
    response = await post_form(client, "/login", {"email": user.email, "password": "pas le bon"})
    assert response.status_code == 422
    assert "incorrect" in field_error(response.text, "password")
    assert f'value="{user.email}"' in response.text


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    known = await make_user(await _neighbourhood())
    wrong = await post_form(client, "/login", {"email": known.email, "password": "pas le bon"})
    unknown = await post_form(client, "/login", {"email": "personne@exemple.fr", "password": "pas le bon"})
    assert field_error(wrong.text, "password") == field_error(unknown.text, "password")
    assert wrong.status_code == unknown.status_code == 422


async def test_login_goes_back_to_the_page_asked_for_but_never_elsewhere(client):
    user = await make_user(await _neighbourhood())
    ok = await post_form(client, "/login", {"email": user.email, "password": PASSWORD, "next": "/settings"})
    assert ok.headers["location"] == "/settings"
    evil = await post_form(client, "/login", {"email": user.email, "password": PASSWORD, "next": "//evil.example/x"})
    assert evil.headers["location"] == "/feed"


async def test_changing_password_logs_out_other_devices(make_client):
    user = await make_user(await _neighbourhood())
    phone, laptop = await make_client(), await make_client()
    await login(phone, user)
    await login(laptop, user)
    changed = await post_form(
        laptop, "/settings/password", {"current_password": PASSWORD, "new_password": "un nouveau mot de passe"}
    )
    assert changed.status_code == 303
    assert (await laptop.get("/settings")).status_code == 200
    assert (await phone.get("/settings")).status_code == 303
    relog = await post_form(phone, "/login", {"email": user.email, "password": "un nouveau mot de passe"})
    assert relog.status_code == 303


async def test_password_change_checks_the_current_one(client):
    user = await make_user(await _neighbourhood())
    await login(client, user)
    response = await post_form(client, "/settings/password", {"current_password": "faux", "new_password": "court"})
    assert response.status_code == 422
    assert "mot de passe actuel" in field_error(response.text, "current_password")
    assert "au moins 8" in field_error(response.text, "new_password")


async def test_log_out_other_devices(make_client):
    user = await make_user(await _neighbourhood())
    phone, laptop = await make_client(), await make_client()
    await login(phone, user)
    await login(laptop, user)
    await post_form(laptop, "/settings/logout-others")
    assert (await phone.get("/feed")).status_code == 303
    assert (await laptop.get("/feed")).status_code == 200


async def test_suspension_ends_an_active_session_at_the_next_request(client):
    from datetime import datetime, timedelta, timezone

    user = await make_user(await _neighbourhood())
    await login(client, user)
    await User.update({User.suspended_until: datetime.now(timezone.utc) + timedelta(days=1)}).where(User.id == user.id)
    assert (await client.get("/feed")).status_code == 303
    assert not await Session.exists().where(Session.user == user.id)
    refused = await post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 422 and "suspendu" in refused.text


async def test_session_cookie_is_httponly_and_lax(client):
    user = await make_user(await _neighbourhood())
    response = await post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_after_logging_out_other_devices_an_htmx_request_sends_the_whole_window_to_login(make_client):
    """The badge poll and the forms posted in place are htmx requests: a 303
    would be followed by htmx and the login page swapped into the navigation."""
    user = await make_user(await _neighbourhood())
    phone, laptop = await make_client(), await make_client()
    await login(phone, user)
    await login(laptop, user)
    await post_form(laptop, "/settings/logout-others")

    poll = await phone.get(
        "/notifications/badge",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/events?page=2"},
    )
    assert poll.status_code == 401 and poll.content == b""
    assert poll.headers["hx-redirect"] == "/login?next=/events?page=2"
    assert "HX-Request" in poll.headers["vary"]

    # A boosted link goes on to the page it was asked for, once signed in again.
    boosted = await phone.get(
        "/messages",
        headers={"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://testserver.local/feed"},
    )
    assert boosted.status_code == 401 and boosted.headers["hx-redirect"] == "/login?next=/messages"

    # A reply posted in place comes back to the post it was written on; never to another site.
    reply = await post_form(
        phone,
        "/posts/1/replies",
        {"body": "Merci !"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/posts/1"},
    )
    assert reply.status_code == 401 and reply.headers["hx-redirect"] == "/login?next=/posts/1"
    elsewhere = await phone.get(
        "/notifications/badge", headers={"HX-Request": "true", "HX-Current-URL": "http://evil.example//evil.example/x"}
    )
    assert elsewhere.headers["hx-redirect"] == "/login?next=/feed"

    # A browser without JavaScript still gets the plain redirect; a form comes back to its page.
    plain = await phone.get("/events")
    assert plain.status_code == 303 and plain.headers["location"] == "/login?next=/events"
    form = await post_form(
        phone, "/posts/1/replies", {"body": "Merci !"}, headers={"Referer": "http://testserver.local/posts/1"}
    )
    assert form.status_code == 303 and form.headers["location"] == "/login?next=/posts/1"
