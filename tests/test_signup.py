"""A neighbour signs up in two steps and lands in their quartier."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from app.accounts import queries as accounts
from app.accounts.tables import User
from app.neighbourhoods import queries as neighbourhoods
from tests.factories import field_error, input_value, make_user, post_form

INSIDE_DIJON = "12 r de la liberte dijon"
OUTSIDE_EVERYTHING = "5 avenue du drapeau dijon"


def _signup_data(**overrides):
    data = {
        "first_name": "Claire",
        "last_name": "Martin",
        "email": f"claire.{uuid.uuid4().hex[:8]}@exemple.fr",
        "password": "les tilleuls de la place",
    }
    data.update(overrides)
    return data


def _first_candidate(html: str) -> str:
    return re.search(r'name="candidate" value="([^"]+)"', html).group(1)


async def test_neighbour_signs_up_and_lands_in_their_quartier(client):
    page = await client.get("/")
    assert "S'inscrire" in page.text and "Se connecter" in page.text

    data = _signup_data()
    step1 = await post_form(client, "/signup", data)
    assert step1.status_code == 303 and step1.headers["location"] == "/signup/address"

    found = await client.get("/signup/address", params={"q": INSIDE_DIJON})
    assert "12 Rue de la Liberté, 21000 Dijon" in found.text

    done = await post_form(client, "/signup/address", {"q": INSIDE_DIJON, "candidate": _first_candidate(found.text)})
    assert done.status_code == 303 and done.headers["location"].startswith("/feed")

    feed = await client.get("/feed")
    assert feed.status_code == 200
    assert "Centre" in feed.text and "Dijon" in feed.text and re.search(r"\d+ voisins?", feed.text)
    # The address itself stays private: the feed shows the quartier, not the street.
    assert "12 Rue de la Liberté" not in feed.text
    user = await accounts.user_by_email(data["email"])
    assert user.verification == "address_checked"
    assert round(user.address_lat, 4) == user.address_lat


async def test_typing_an_address_with_htmx_returns_only_the_candidates(client):
    await post_form(client, "/signup", _signup_data())
    fragment = await client.get("/signup/address", params={"q": "place darcy"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="candidates"')
    assert "Place Darcy" in fragment.text and "<html" not in fragment.text
    assert fragment.headers["vary"].lower().count("hx-request") == 1


async def test_member_count_grows_when_a_neighbour_joins(client):
    neighbourhood = await neighbourhoods.by_slug("dijon-centre")
    await post_form(client, "/signup", _signup_data())
    found = await client.get("/signup/address", params={"q": INSIDE_DIJON})
    await post_form(client, "/signup/address", {"q": INSIDE_DIJON, "candidate": _first_candidate(found.text)})
    assert (await neighbourhoods.by_slug("dijon-centre")).member_count == neighbourhood.member_count + 1


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("first_name", {"first_name": ""}, "Ce champ est obligatoire."),
        ("last_name", {"last_name": "   "}, "Ce champ est obligatoire."),
        ("first_name", {"first_name": "A" * 61}, "60 caractères au plus"),
        ("email", {"email": "claire-at-exemple"}, "adresse e-mail n'est pas valide"),
        ("email", {"email": ("x" * 250) + "@exemple.fr"}, "caractères au plus"),
        ("password", {"password": "court"}, "au moins 8 caractères"),
        ("password", {"password": "azertyuiop"}, "trop courant"),
        ("password", {"password": ""}, "Ce champ est obligatoire."),
        ("password", {"password": "x" * 257}, "256 caractères"),
    ],
)
async def test_bad_signup_input_is_explained_next_to_the_field(client, field, overrides, message):
    data = _signup_data(**overrides)
    response = await post_form(client, "/signup", data)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    # What was typed is still there (never the password).
    if field != "first_name":
        assert input_value(response.text, "first_name") == "Claire"
    assert 'value="les tilleuls' not in response.text


async def test_long_passphrases_are_welcome(client):
    response = await post_form(client, "/signup", _signup_data(password="é" * 100 + " une phrase de passe"))
    assert response.status_code == 303


def _same_page(html: str) -> str:
    """A page as any visitor would get it: each visitor has their own CSRF token."""
    return re.sub(r'(csrftoken&#34;: &#34;|csrftoken": "|name="_csrf_token" value=")[^"&]+', r"\1…", html)


def _cookie_shapes(response) -> list[tuple[str, str]]:
    """Each cookie set, by name and attributes: the values are random for everyone."""
    shapes = []
    for header in response.headers.get_list("set-cookie"):
        name_value, _sep, attributes = header.partition(";")
        shapes.append((name_value.split("=", 1)[0], attributes))
    return sorted(shapes)


async def test_signup_does_not_tell_whether_an_email_already_has_an_account(make_client):
    from tests.mailbox import body_of, smtp_server

    owner = await make_user(await neighbourhoods.by_slug("toulouse-arnaud-bernard"), first_name="John", locale="en")
    newcomer, intruder = await make_client(), await make_client()
    with smtp_server() as box:
        fresh = await post_form(newcomer, "/signup", _signup_data())
        taken = await post_form(intruder, "/signup", _signup_data(email=owner.email.upper(), first_name="Zoé"))
        assert fresh.status_code == taken.status_code == 303
        assert fresh.headers["location"] == taken.headers["location"] == "/signup/address"
        # Every header alike but the cookies' values and the request's own id.
        per_request = {"set-cookie", "x-request-id"}
        assert {k: v for k, v in fresh.headers.items() if k not in per_request} == {
            k: v for k, v in taken.headers.items() if k not in per_request
        }
        assert _cookie_shapes(fresh) == _cookie_shapes(taken) and fresh.content == taken.content

        # Step 2 looks the same to both.
        pages = [await c.get("/signup/address", params={"q": INSIDE_DIJON}) for c in (newcomer, intruder)]
        assert pages[0].status_code == pages[1].status_code == 200
        assert _same_page(pages[0].text) == _same_page(pages[1].text)
        assert (await intruder.get("/feed")).headers["location"] == (await newcomer.get("/feed")).headers["location"]

        # The owner of the address is told, in their own language.
        msg = await box.wait_for(owner.email)
    assert msg["Subject"] == "Someone tried to sign up to Voisinage with your email address"
    body = body_of(msg)
    assert "/login" in body and "/password/forgot" in body and "already have one" in body

    # Only at the very end does the intruder learn anything, and nothing happened to the account.
    done = await post_form(
        intruder, "/signup/address", {"q": INSIDE_DIJON, "candidate": _first_candidate(pages[1].text)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/signup/check-email"
    assert "Vérifiez vos e-mails" in (await intruder.get(done.headers["location"])).text
    assert (await intruder.get("/feed")).headers["location"].startswith("/login")
    after = await accounts.user_by_email(owner.email)
    assert (after.first_name, after.password_hash, after.neighbourhood) == (
        owner.first_name,
        owner.password_hash,
        owner.neighbourhood,
    )
    assert await User.count().where(User.email == owner.email) == 1


async def test_repeated_signups_with_a_registered_email_send_its_owner_one_mail(client):
    from tests.mailbox import smtp_server

    owner = await make_user()
    with smtp_server() as box:
        for _ in range(3):
            assert (await post_form(client, "/signup", _signup_data(email=owner.email))).status_code == 303
        await box.wait_for(owner.email)
        await asyncio.sleep(0.3)
    assert [m["To"] for m in box.messages] == [owner.email]


async def test_unknown_address_gets_a_french_message_and_keeps_the_input(client):
    await post_form(client, "/signup", _signup_data())
    response = await post_form(client, "/signup/address", {"q": "zzz qqq xxx"})
    assert response.status_code == 422
    assert "Adresse introuvable" in field_error(response.text, "q")
    assert 'value="zzz qqq xxx"' in response.text


async def test_empty_address_is_refused(client):
    await post_form(client, "/signup", _signup_data())
    response = await post_form(client, "/signup/address", {"q": ""})
    assert response.status_code == 422
    assert "Indiquez votre adresse" in field_error(response.text, "q")


async def test_a_forged_candidate_is_refused(client):
    await post_form(client, "/signup", _signup_data())
    found = await client.get("/signup/address", params={"q": INSIDE_DIJON})
    forged = _first_candidate(found.text)[:-3] + "AAA"
    response = await post_form(client, "/signup/address", {"q": INSIDE_DIJON, "candidate": forged})
    assert response.status_code == 422
    assert "n'a pas pu être vérifiée" in field_error(response.text, "candidate")


async def test_address_outside_every_neighbourhood_offers_the_waiting_list(client):
    data = _signup_data()
    await post_form(client, "/signup", data)
    found = await client.get("/signup/address", params={"q": OUTSIDE_EVERYTHING})
    candidate = _first_candidate(found.text)
    outside = await post_form(client, "/signup/address", {"q": OUTSIDE_EVERYTHING, "candidate": candidate})
    assert outside.status_code == 422
    assert "Aucun quartier Voisinage ne couvre" in field_error(outside.text, "candidate")
    assert "Rejoindre la liste d'attente" in outside.text

    joined = await post_form(
        client, "/signup/address", {"q": OUTSIDE_EVERYTHING, "candidate": candidate, "join_waitlist": "1"}
    )
    assert joined.status_code == 303
    waiting = await client.get("/feed")
    assert "Quartier en formation" in waiting.text
    assert re.search(r"\d+ personnes? inscrites? sur 10", waiting.text)


async def test_forming_neighbourhood_opens_with_the_tenth_neighbour():
    from app.neighbourhoods.tables import Neighbourhood

    first = await make_user()
    neighbourhood = await neighbourhoods.join_waitlist(
        first, "1 Rue Imaginaire, 64000 Pau", 43.30, -0.37, "Pau", "64000"
    )
    assert neighbourhood.status == "forming"
    for i in range(8):
        someone = await make_user()
        # 8 neighbours within a few hundred metres of the first one.
        neighbourhood = await neighbourhoods.join_waitlist(
            someone, f"{i} Rue Imaginaire, 64000 Pau", 43.30 + i * 0.0005, -0.37, "Pau", "64000"
        )
    assert neighbourhood.status == "forming" and neighbourhood.member_count == 9
    far = await make_user()
    other = await neighbourhoods.join_waitlist(far, "Loin, 64000 Pau", 43.40, -0.37, "Pau", "64000")
    assert other.id != neighbourhood.id  # 11 km away: a neighbourhood of its own
    tenth = await make_user()
    neighbourhood = await neighbourhoods.join_waitlist(
        tenth, "9 Rue Imaginaire, 64000 Pau", 43.301, -0.371, "Pau", "64000"
    )
    assert neighbourhood.status == "open" and neighbourhood.member_count == 10
    assert (await Neighbourhood.select(Neighbourhood.status).where(Neighbourhood.id == other.id).first())[
        "status"
    ] == "forming"


async def test_admin_opens_a_forming_neighbourhood(client):
    waiting = await make_user()
    neighbourhood = await neighbourhoods.join_waitlist(waiting, "1 Rue Seule, 09000 Foix", 42.96, 1.60, "Foix", "09000")
    from tests.factories import login

    member = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    await login(client, member)
    refused = await post_form(client, f"/neighbourhoods/{neighbourhood.slug}/open")
    assert refused.status_code == 403
    admin = await make_user(await neighbourhoods.by_slug("dijon-centre"), role="admin")
    await login(client, admin)
    opened = await post_form(client, f"/neighbourhoods/{neighbourhood.slug}/open")
    assert opened.status_code == 303
    assert (await neighbourhoods.by_slug(neighbourhood.slug)).status == "open"


async def test_step_two_requires_being_signed_in(client):
    response = await client.get("/signup/address")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/signup/address")


async def test_feed_before_address_sends_to_step_two(client):
    await post_form(client, "/signup", _signup_data())
    response = await client.get("/feed")
    assert response.status_code == 303 and response.headers["location"] == "/signup/address"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("12 rue de la lybertai dijon", "12 Rue de la Liberté, 21000 Dijon"),
        ("6 rue de la rocket paris", "6 Rue de la Roquette, 75011 Paris"),
        ("3 rue du tor toulouse", "3 Rue du Taur, 31000 Toulouse"),
        ("2 plasse darsi dijon", "2 Place Darcy, 21000 Dijon"),
    ],
)
async def test_an_address_written_as_it_sounds_gets_did_you_mean(client, typed, meant):
    await post_form(client, "/signup", _signup_data())
    page = await client.get("/signup/address", params={"q": typed})
    assert "Vouliez-vous dire" in page.text and "Adresse introuvable" not in page.text
    labels = re.findall(r'<input type="radio" name="candidate"[^>]*> ([^<]+)</label>', page.text)
    assert labels[0].strip() == meant
    assert input_value(page.text, "q") == typed


async def test_a_suggested_address_picked_without_javascript_lands_in_the_quartier(client):
    data = _signup_data()
    await post_form(client, "/signup", data)
    typed = "12 rue de la lybertai dijon"
    # The plain form, as without JavaScript: posted with no choice, the suggestions stay offered.
    unchosen = await post_form(client, "/signup/address", {"q": typed})
    assert unchosen.status_code == 422 and "Vouliez-vous dire" in unchosen.text
    assert "Choisissez votre adresse" in field_error(unchosen.text, "candidate")

    done = await post_form(client, "/signup/address", {"q": typed, "candidate": _first_candidate(unchosen.text)})

    assert done.status_code == 303 and done.headers["location"].startswith("/feed")
    user = await accounts.user_by_email(data["email"])
    assert user.address_label == "12 Rue de la Liberté, 21000 Dijon"
