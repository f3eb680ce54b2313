"""Forgotten passwords and email confirmation, through a real SMTP server on loopback."""

from __future__ import annotations

import re
import uuid

import pytest

from app.accounts.tables import User
from app.neighbourhoods import queries as neighbourhoods
from tests.factories import field_error, login, make_user, post_form
from tests.mailbox import body_of, smtp_server


@pytest.fixture
def mailbox():
    with smtp_server() as box:
        yield box


def _link(msg, path: str) -> str:
    return re.search(rf"https?://[^/\s]+({re.escape(path)}\?token=[\w-]+)", body_of(msg)).group(1)


async def test_neighbour_resets_a_forgotten_password_by_email(mailbox, client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    asked = await post_form(client, "/password/forgot", {"email": user.email})
    assert asked.status_code == 303
    shown = await client.get(asked.headers["location"])
    assert "Si un compte existe" in shown.text

    msg = await mailbox.wait_for(user.email)
    assert "mot de passe" in msg["Subject"].lower()
    link = _link(msg, "/password/reset")
    form = await client.get(link)
    assert form.status_code == 200
    token = link.split("token=")[1]

    weak = await post_form(client, "/password/reset", {"token": token, "password": "motdepasse"})
    assert weak.status_code == 422 and "trop courant" in field_error(weak.text, "password")
    done = await post_form(client, "/password/reset", {"token": token, "password": "mon nouveau secret"})
    assert done.status_code == 303
    assert (await client.get("/feed")).status_code == 200

    # The link works once.
    again = await post_form(client, "/password/reset", {"token": token, "password": "encore un autre"})
    assert again.status_code == 400 and "plus valable" in again.text


async def test_reset_answer_is_the_same_for_unknown_emails(mailbox, client):
    known = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    a = await post_form(client, "/password/forgot", {"email": known.email})
    b = await post_form(client, "/password/forgot", {"email": f"inconnu.{uuid.uuid4().hex[:6]}@exemple.fr"})
    assert a.status_code == b.status_code == 303
    assert a.headers["location"] == b.headers["location"]
    await mailbox.wait_for(known.email)
    assert len(mailbox.messages) == 1


async def test_reset_ends_every_old_session(mailbox, make_client):
    user = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    thief, owner = await make_client(), await make_client()
    await login(thief, user)
    await post_form(owner, "/password/forgot", {"email": user.email})
    token = _link(await mailbox.wait_for(user.email), "/password/reset").split("token=")[1]
    await post_form(owner, "/password/reset", {"token": token, "password": "reprendre la main"})
    assert (await thief.get("/feed")).status_code == 303


async def test_new_neighbour_confirms_their_email(mailbox, client):
    email = f"nouvelle.{uuid.uuid4().hex[:8]}@exemple.fr"
    await post_form(
        client,
        "/signup",
        {"first_name": "Inès", "last_name": "Roy", "email": email, "password": "la boulangerie du coin"},
    )
    msg = await mailbox.wait_for(email)
    link = _link(msg, "/email/confirm")
    page = await client.get(link)
    # Opening the link changes nothing: mail scanners open links too.
    assert page.status_code == 200 and "Confirmer mon adresse" in page.text
    assert (await User.select(User.email_confirmed_at).where(User.email == email).first())["email_confirmed_at"] is None
    confirmed = await post_form(client, "/email/confirm", {"token": link.split("token=")[1]})
    assert confirmed.status_code == 303
    assert (await User.select(User.email_confirmed_at).where(User.email == email).first())[
        "email_confirmed_at"
    ] is not None


async def test_expired_or_forged_reset_link_is_explained(client):
    response = await client.get("/password/reset", params={"token": "n-importe-quoi"})
    assert response.status_code == 400 and "plus valable" in response.text
