"""A member invites neighbours: a personal link, a flyer and a letter for
mailboxes, an email; the neighbours who join through it are counted."""

from __future__ import annotations

import html
import io
import json
import logging
import re
import uuid
import zipfile
from email.header import decode_header, make_header

from app.accounts import queries as accounts
from app.invitations import queries as invitations
from app.invitations.routes import MAILS_PER_DAY
from app.invitations.tables import InvitationLink
from app.neighbourhoods import queries as neighbourhoods
from app.privacy.queries import erase_account
from tests.factories import field_error, input_value, make_neighbourhood, make_user, post_form
from tests.factories_posts import signed_in
from tests.mailbox import body_of, smtp_server
from tests.test_privacy import _everything_in_the_database

INSIDE_DIJON = "12 r de la liberte dijon"


async def _my_link(client) -> str:
    """The member's link as their page shows it, made first if they have none yet."""
    page = await client.get("/invitations")
    assert page.status_code == 200
    if 'action="/invitations/link"' in page.text:
        made = await post_form(client, "/invitations/link")
        assert made.status_code == 303 and made.headers["location"] == "/invitations"
        page = await client.get("/invitations")
    return re.search(r'<p class="invite-link"><a href="([^"]+)"', page.text).group(1)


async def _links_in_the_database() -> list[dict]:
    return await InvitationLink.select(InvitationLink.code, InvitationLink.inviter).order_by(InvitationLink.id)


def _path(url: str) -> str:
    return "/invite/" + url.rsplit("/invite/", 1)[1]


async def _sign_up(client, *, invite: str | None, address: str, join_waitlist: bool = False):
    """Both steps of the signup, as the form sends them; the new account."""
    email = f"nouveau.{uuid.uuid4().hex[:8]}@exemple.fr"
    data = {"first_name": "Gaston", "last_name": "Lagaffe", "email": email, "password": "les tilleuls de la place"}
    if invite:
        data["invite"] = invite
    step1 = await post_form(client, "/signup", data)
    assert step1.status_code == 303, step1.text
    found = await client.get("/signup/address", params={"q": address})
    candidate = re.search(r'name="candidate" value="([^"]+)"', found.text).group(1)
    choice = {"q": address, "candidate": candidate, **({"join_waitlist": "1"} if join_waitlist else {})}
    done = await post_form(client, "/signup/address", choice)
    assert done.status_code == 303, done.text
    return found, done, await accounts.user_by_email(email)


async def test_anyone_sees_the_quartier_and_how_near_it_is_to_opening_and_nothing_personal(make_client):
    forming = await make_neighbourhood(status="forming")
    inviter = await make_user(forming, first_name="Bérénice", last_name="Quintaval")
    for _ in range(6):
        await make_user(forming)
    member = await signed_in(make_client, inviter)
    url = await _my_link(member)
    assert await _my_link(member) == url, "the link is the member's, the same every time"

    page = await (await make_client()).get(_path(url))
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert forming.name in text and "7 voisins sur 10 pour ouvrir" in text
    assert "Bérénice" in text
    assert "Quintaval" not in text and inviter.email not in text and "rue du Test" not in text
    assert f"/signup?invite={url.rsplit('/', 1)[1]}" in text

    open_quartier = await make_neighbourhood()
    for _ in range(3):
        await make_user(open_quartier)
    other = await signed_in(make_client, await make_user(open_quartier, first_name="Paul"))
    other_url = await _my_link(other)
    assert other_url != url
    shown = html.unescape((await (await make_client()).get(_path(other_url))).text)
    assert "4 voisins inscrits" in shown and "Paul" in shown

    assert (await (await make_client()).get("/invite/" + "a" * 20)).status_code == 404


async def test_viewing_the_invitation_page_stores_no_link_until_the_member_asks_for_one(make_client):
    inviter = await make_user(await neighbourhoods.by_slug("dijon-centre"), first_name="Bérénice")
    member = await signed_in(make_client, inviter)
    before = await _links_in_the_database()

    for _ in range(2):
        page = html.unescape((await member.get("/invitations")).text)
        assert "Créer mon lien d'invitation" in page and "/flyer" not in page
    assert await _links_in_the_database() == before

    url = await _my_link(member)
    assert await _my_link(member) == url
    mine = [link for link in await _links_in_the_database() if link["inviter"] == inviter.id]
    assert [link["code"] for link in mine] == [_path(url).rsplit("/", 1)[1]]
    page = html.unescape((await member.get("/invitations")).text)
    assert "Créer mon lien d'invitation" not in page and f"{_path(url)}/flyer" in page
    assert len(await _links_in_the_database()) == len(before) + 1


async def test_an_email_invitation_makes_the_link_it_carries(make_client):
    inviter = await make_user(await neighbourhoods.by_slug("dijon-centre"), first_name="Bérénice")
    member = await signed_in(make_client, inviter)
    wrong = await post_form(member, "/invitations", {"email": "voisine-at-exemple"})
    assert wrong.status_code == 422 and await invitations.link_code(inviter.id, inviter.neighbourhood) is None

    address = f"voisine.{uuid.uuid4().hex[:10]}@exemple.fr"
    with smtp_server() as mailbox:
        assert (await post_form(member, "/invitations", {"email": address})).status_code == 303
        mail = await mailbox.wait_for(address)
    url = await _my_link(member)
    assert url in body_of(mail)
    assert (await (await make_client()).get(_path(url))).status_code == 200


async def test_a_neighbour_signs_up_through_the_link_and_counts_once_their_address_is_checked(make_client):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice")
    member = await signed_in(make_client, inviter)
    code = (await _my_link(member)).rsplit("/", 1)[1]

    newcomer = await make_client()
    form = await newcomer.get(f"/signup?invite={code}")
    assert f"Invitation au quartier {centre.name} (Dijon)" in html.unescape(form.text)
    assert f'name="invite" value="{code}"' in form.text
    found, done, invitee = await _sign_up(newcomer, invite=code, address=INSIDE_DIJON)
    assert f"Votre invitation : quartier {centre.name}" in html.unescape(found.text)
    assert done.headers["location"].startswith("/feed") and invitee.neighbourhood == centre.id
    assert await invitations.accepted_count(inviter.id) == 1

    profile = html.unescape((await member.get(f"/users/{inviter.id}")).text)
    assert "1 personne a rejoint le quartier grâce à vous." in profile
    # Said to the inviter only.
    seen_by_other = await newcomer.get(f"/users/{inviter.id}")
    assert "grâce à vous" not in html.unescape(seen_by_other.text)


async def test_the_count_waits_for_the_address_check(make_client):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice")
    code = (await _my_link(await signed_in(make_client, inviter))).rsplit("/", 1)[1]
    newcomer = await make_client()
    data = {"first_name": "Gaston", "last_name": "L", "email": f"g.{uuid.uuid4().hex[:8]}@exemple.fr"}
    step1 = await post_form(newcomer, "/signup", {**data, "password": "les tilleuls de la place", "invite": code})
    assert step1.status_code == 303
    assert await invitations.accepted_count(inviter.id) == 0
    # The invitation is on hold, not lost: the address page names its quartier,
    # on a mistyped address too.
    wrong = await post_form(newcomer, "/signup/address", {"q": ""})
    assert wrong.status_code == 422 and f"Votre invitation : quartier {centre.name}" in html.unescape(wrong.text)


async def test_a_link_of_another_quartier_leads_to_the_newcomers_own_quartier_and_is_not_counted(make_client):
    # The inviter's count would otherwise tell them that the person they
    # invited lives in another quartier: that is the invitee's to say.
    elsewhere = await make_neighbourhood()
    inviter = await make_user(elsewhere, first_name="Bérénice")
    code = (await _my_link(await signed_in(make_client, inviter))).rsplit("/", 1)[1]

    found, done, invitee = await _sign_up(await make_client(), invite=code, address=INSIDE_DIJON)
    assert f"Votre invitation : quartier {elsewhere.name}" in html.unescape(found.text)
    assert done.headers["location"].startswith("/feed")
    assert invitee.neighbourhood == (await neighbourhoods.by_slug("dijon-centre")).id
    assert await invitations.accepted_count(inviter.id) == 0


async def test_invited_into_a_forming_quartier_the_newcomer_joins_its_waiting_list_directly(make_client):
    first = await make_client()
    _found, _done, starter = await _sign_up(
        first, invite=None, address="12 boulevard des valendons dijon", join_waitlist=True
    )
    forming = await neighbourhoods.by_id(starter.neighbourhood)
    assert forming.status == "forming"
    code = (await _my_link(first)).rsplit("/", 1)[1]

    _found, done, invitee = await _sign_up(await make_client(), invite=code, address="40 boulevard des valendons dijon")
    assert done.headers["location"] == "/feed?notice=waitlist"
    assert invitee.neighbourhood == forming.id
    assert await invitations.accepted_count(starter.id) == 1


async def test_the_flyer_and_the_letter_carry_the_link_as_a_qr_code_and_no_address(make_client):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice", last_name="Quintaval")
    member = await signed_in(make_client, inviter)
    url = await _my_link(member)
    # Whoever holds the link may print them: they show what the invitation page shows.
    anyone = await make_client()
    for viewer, paper in ((member, "flyer"), (member, "letter"), (anyone, "flyer"), (anyone, "letter")):
        page = await viewer.get(f"{_path(url)}/{paper}")
        assert page.status_code == 200
        assert "<svg" in page.text and 'class="qr"' in page.text and f"<title>{url}</title>" in page.text
        # The CSP refuses inline style: the SVG must not need it.
        assert "style=" not in page.text and "<style" not in page.text
        assert "Bérénice" in page.text and "Quintaval" not in page.text
        assert inviter.address_label not in page.text and inviter.email not in page.text


async def test_an_email_invitation_arrives_signed_with_the_first_name_and_the_address_is_kept_nowhere(
    make_client, database, caplog
):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice", last_name="Quintaval")
    member = await signed_in(make_client, inviter)
    url = await _my_link(member)
    address = f"voisine.{uuid.uuid4().hex[:10]}@exemple.fr"
    caplog.set_level(logging.DEBUG)
    with smtp_server() as mailbox:
        sent = await post_form(member, "/invitations", {"email": address})
        assert sent.status_code == 303 and sent.headers["location"] == "/invitations?notice=invitation_sent"
        mail = await mailbox.wait_for(address)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == f"Bérénice vous invite à rejoindre le quartier {centre.name} sur Voisinage"
    body = body_of(mail)
    assert f"Bérénice, qui habite le quartier {centre.name} à Dijon" in body and url in body
    assert "Quintaval" not in body and inviter.email not in body and inviter.address_label not in body
    assert "Invitation envoyée" in html.unescape((await member.get("/invitations?notice=invitation_sent")).text)

    assert address not in await _everything_in_the_database(database)
    # The SMTP server of the test logs what it receives; the app's own loggers say nothing of it.
    app_logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("voisinage"))
    assert address not in app_logs


async def test_bad_addresses_and_too_many_invitations_are_explained_next_to_the_field(make_client):
    member = await signed_in(make_client, await make_user(await neighbourhoods.by_slug("dijon-centre")))
    wrong = await post_form(member, "/invitations", {"email": "voisine-at-exemple"})
    assert wrong.status_code == 422
    assert "n'est pas valide" in field_error(wrong.text, "email")
    assert input_value(wrong.text, "email") == "voisine-at-exemple"

    with smtp_server() as mailbox:
        for n in range(MAILS_PER_DAY):
            assert (await post_form(member, "/invitations", {"email": f"v{n}@exemple.fr"})).status_code == 303
        refused = await post_form(member, "/invitations", {"email": "une-de-trop@exemple.fr"})
        await mailbox.wait_for(f"v{MAILS_PER_DAY - 1}@exemple.fr")
    assert refused.status_code == 422
    assert f"déjà envoyé {MAILS_PER_DAY} invitations aujourd'hui" in field_error(refused.text, "email")
    assert input_value(refused.text, "email") == "une-de-trop@exemple.fr"
    assert "une-de-trop@exemple.fr" not in [m["To"] for m in mailbox.messages]


async def test_every_invitation_form_needs_its_csrf_token(make_client):
    member = await signed_in(make_client, await make_user(await neighbourhoods.by_slug("dijon-centre")))
    forged = await member.post("/invitations", data={"email": "voisine@exemple.fr"})
    assert forged.status_code == 403
    assert (await member.post("/invitations/link")).status_code == 403


async def test_a_members_invitation_page_needs_a_member_and_unknown_links_are_not_found(make_client):
    anonymous = await make_client()
    assert (await anonymous.get("/invitations")).status_code == 303
    assert (await post_form(anonymous, "/invitations/link")).status_code == 303
    for path in ("/invite/" + "a" * 20, "/invite/" + "a" * 20 + "/flyer", "/invite/nope/letter"):
        assert (await anonymous.get(path)).status_code == 404, path


async def test_the_export_counts_the_neighbours_who_joined_and_erasure_takes_the_count_not_them(make_client):
    centre = await neighbourhoods.by_slug("dijon-centre")
    inviter = await make_user(centre, first_name="Bérénice")
    member = await signed_in(make_client, inviter)
    code = (await _my_link(member)).rsplit("/", 1)[1]
    _found, _done, invitee = await _sign_up(await make_client(), invite=code, address=INSIDE_DIJON)

    archive = zipfile.ZipFile(io.BytesIO((await member.get("/settings/export")).content))
    data = json.loads(archive.read("voisinage.json"))
    assert data["invitations"]["neighbours_joined"] == 1
    assert [link["code"] for link in data["invitations"]["links"]] == [code]
    assert invitee.email not in archive.read("voisinage.json").decode()

    await erase_account(inviter.id)
    assert await accounts.user_by_id(invitee.id) is not None
    assert await invitations.accepted_count(inviter.id) == 0
    assert (await (await make_client()).get(f"/invite/{code}")).status_code == 404


async def test_the_flyer_speaks_the_members_language(make_client):
    forming = await make_neighbourhood(status="forming")
    member = await signed_in(make_client, await make_user(forming, first_name="Jane", locale="en"))
    flyer = html.unescape((await member.get(_path(await _my_link(member)) + "/flyer")).text)
    assert f"Your neighbours in {forming.name} are waiting for you" in flyer
    assert "1 neighbour of the 10 needed to open" in flyer
