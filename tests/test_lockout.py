"""Someone guessing a neighbour's password is slowed down; the neighbour is not locked out."""

from __future__ import annotations

from datetime import timedelta

from app.accounts import lockout
from app.neighbourhoods import queries as neighbourhoods
from tests.factories import PASSWORD, field_error, login, make_user, post_form


async def _neighbour(**kwargs):
    return await make_user(await neighbourhoods.by_slug("dijon-centre"), **kwargs)


async def _try(client, email: str, password: str):
    return await post_form(client, "/login", {"email": email, "password": password})


def _later(monkeypatch, **delta) -> None:
    """The lockout's clock only: sessions and cookies keep real time."""
    moment = lockout.now() + timedelta(**delta)
    monkeypatch.setattr(lockout, "now", lambda: moment)


async def test_an_attacker_is_locked_out_while_the_owner_logs_in_from_a_known_device(make_client, monkeypatch):
    owner = await _neighbour(first_name="Odile")
    phone = await make_client()
    await login(phone, owner)
    await post_form(phone, "/logout")

    attacker = await make_client()
    answers = [await _try(attacker, owner.email, f"essai numéro {i}") for i in range(6)]
    assert [a.status_code for a in answers] == [422] * 5 + [429]
    assert "incorrect" in field_error(answers[4].text, "password")
    refused = answers[5]
    assert "Trop d'essais pour ce compte. Réessayez dans 1 minute" in field_error(refused.text, "password")
    assert int(refused.headers["retry-after"]) <= 60 and f'value="{owner.email}"' in refused.text
    # Even the right password, or a made-up device cookie, gets the attacker nowhere now.
    assert (await _try(attacker, owner.email, PASSWORD)).status_code == 429
    attacker.cookies.set("device", f"{owner.id}.invente.AAAA", domain="testserver.local")
    assert (await _try(attacker, owner.email, PASSWORD)).status_code == 429

    # The owner's phone has logged in before: it gets in at once.
    assert (await _try(phone, owner.email, PASSWORD)).status_code == 303
    assert (await phone.get("/feed")).status_code == 200

    # A new laptop of the owner waits like any unknown device, then gets in.
    laptop = await make_client()
    assert (await _try(laptop, owner.email, PASSWORD)).status_code == 429
    _later(monkeypatch, seconds=61)
    assert (await _try(laptop, owner.email, PASSWORD)).status_code == 303


async def test_each_further_failure_doubles_the_wait(make_client, monkeypatch):
    owner = await _neighbour()
    attacker = await make_client()
    for i in range(5):
        await _try(attacker, owner.email, f"essai numéro {i}")
    _later(monkeypatch, seconds=61)
    assert (await _try(attacker, owner.email, "encore un essai")).status_code == 422
    refused = await _try(attacker, owner.email, PASSWORD)
    assert refused.status_code == 429 and "dans 2 minutes" in field_error(refused.text, "password")
    _later(monkeypatch, seconds=61 + 119)
    assert (await _try(attacker, owner.email, PASSWORD)).status_code == 303


async def test_an_unknown_email_is_locked_out_the_same_way_as_a_registered_one(make_client):
    owner = await _neighbour()
    known, unknown = await make_client(), await make_client()
    for_known = [await _try(known, owner.email, "pas le bon") for _ in range(6)]
    for_unknown = [await _try(unknown, "personne.ici@exemple.fr", "pas le bon") for _ in range(6)]
    assert [r.status_code for r in for_known] == [r.status_code for r in for_unknown] == [422] * 5 + [429]
    assert field_error(for_known[5].text, "password") == field_error(for_unknown[5].text, "password")


async def test_a_copied_device_cookie_gets_locked_on_its_own(make_client):
    owner = await _neighbour()
    phone = await make_client()
    await login(phone, owner)
    thief = await make_client()
    thief.cookies.set("device", phone.cookies["device"], domain="testserver.local")
    # Failures with the cookie count against the cookie, not the account...
    for i in range(5):
        assert (await _try(thief, owner.email, f"essai numéro {i}")).status_code == 422
    laptop = await make_client()
    assert (await _try(laptop, owner.email, PASSWORD)).status_code == 303
    # ...and once the cookie is locked it vouches for nothing: the thief is an unknown device.
    for i in range(5):
        assert (await _try(thief, owner.email, f"autre essai {i}")).status_code == 422
    assert (await _try(thief, owner.email, "dernier essai")).status_code == 429


async def test_a_shared_tablet_stays_known_for_each_of_its_neighbours(make_client):
    claire, paul = await _neighbour(first_name="Claire"), await _neighbour(first_name="Paul")
    tablet = await make_client()
    for person in (claire, paul):
        await login(tablet, person)
        await post_form(tablet, "/logout")
    attacker = await make_client()
    for person in (claire, paul):
        for i in range(6):
            await _try(attacker, person.email, f"essai numéro {i}")
        assert (await _try(attacker, person.email, PASSWORD)).status_code == 429
    for person in (claire, paul):
        assert (await _try(tablet, person.email, PASSWORD)).status_code == 303
        await post_form(tablet, "/logout")


async def test_the_count_is_shared_by_every_server_process(make_client):
    import httpx

    from app.main import create_app
    from tests.conftest import BASE

    owner = await _neighbour()
    # Two app instances on one database, as two server processes would be.
    apps = [create_app(own_database=False) for _ in range(2)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a, client=("127.0.0.1", 50002)), base_url=BASE)
        for a in apps
    ]
    try:
        statuses = [(await _try(clients[i % 2], owner.email, f"essai numéro {i}")).status_code for i in range(6)]
    finally:
        for c in clients:
            await c.aclose()
    assert statuses == [422] * 5 + [429]


async def test_a_new_password_by_email_ends_the_lockout(make_client):
    import re

    from tests.mailbox import body_of, smtp_server

    owner = await _neighbour()
    attacker, laptop = await make_client(), await make_client()
    for i in range(6):
        await _try(attacker, owner.email, f"essai numéro {i}")
    assert (await _try(laptop, owner.email, PASSWORD)).status_code == 429
    with smtp_server() as box:
        await post_form(laptop, "/password/forgot", {"email": owner.email})
        link = re.search(r"https?://\S+/password/reset\?token=(\S+)", body_of(await box.wait_for(owner.email)))
    reset = await post_form(laptop, "/password/reset", {"token": link.group(1), "password": "un tout nouveau secret"})
    assert reset.status_code == 303
    other_device = await make_client()
    assert (await _try(other_device, owner.email, "un tout nouveau secret")).status_code == 303
