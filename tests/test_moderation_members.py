"""Moderators act on people of their own quartier: suspension, verification,
hidden replies, reports of replies, messages and profiles; admins appoint them."""

from __future__ import annotations

import re

import pytest

from app.accounts.tables import ModeratorAssignment, User, VerificationCode
from app.messages.tables import Conversation
from app.moderation.tables import ModerationAction, Report
from app.neighbourhoods.tables import Neighbourhood
from app.posts.tables import Reply
from tests.factories import PASSWORD, ensure_csrf, field_error, make_moderator, make_user, notifications_of, post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def _user(user_id: int) -> dict:
    return await User.select().where(User.id == user_id).first()


async def test_suspension_ends_the_members_session_at_once_and_can_be_lifted(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    paul_client = await signed_in(make_client, paul)
    assert (await paul_client.get("/feed")).status_code == 200
    mod = await signed_in(make_client, moderator)
    page = await mod.get(f"/users/{paul.id}")
    assert "Suspendre ce compte" in page.text and "Marquer le compte comme vérifié" in page.text

    bad = await post_form(mod, f"/moderation/users/{paul.id}/suspend", {"duration": "3", "reason": "Insultes répétées"})
    assert bad.status_code == 422
    assert "Choisissez une des options" in bad.text and 'value="Insultes répétées"' in bad.text
    no_reason = await post_form(mod, f"/moderation/users/{paul.id}/suspend", {"duration": "7", "reason": ""})
    assert no_reason.status_code == 422 and "obligatoire" in field_error(no_reason.text, "reason")
    assert (await _user(paul.id))["suspended_until"] is None

    done = await post_form(
        mod, f"/moderation/users/{paul.id}/suspend", {"duration": "7", "reason": "Insultes répétées"}
    )
    assert done.status_code == 303
    # Paul's very next request finds him signed out, and he cannot sign in again.
    after = await paul_client.get("/feed")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    again = await post_form(paul_client, "/login", {"email": paul.email, "password": PASSWORD})
    assert again.status_code == 422 and "suspendu" in again.text
    log = await ModerationAction.select().where(
        (ModerationAction.target_user == paul.id) & (ModerationAction.action == "suspend")
    )
    assert log[0]["moderator"] == moderator.id and log[0]["reason"] == "Insultes répétées" and not log[0]["public"]

    page = await mod.get(f"/users/{paul.id}")
    assert "Compte suspendu jusqu" in page.text and "Insultes répétées" in page.text
    assert (await post_form(mod, f"/moderation/users/{paul.id}/unsuspend")).status_code == 303
    assert (await post_form(paul_client, "/login", {"email": paul.email, "password": PASSWORD})).status_code == 303


async def test_a_permanent_suspension_and_a_moderator_cannot_suspend_another_moderator(make_client):
    neighbourhood, (paul,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    colleague = await make_moderator(neighbourhood, first_name="Colette")
    mod = await signed_in(make_client, moderator)
    refused = await post_form(mod, f"/moderation/users/{colleague.id}/suspend", {"duration": "1", "reason": "Essai"})
    assert refused.status_code == 422 and "administrateur" in refused.text
    await post_form(mod, f"/moderation/users/{paul.id}/suspend", {"duration": "permanent", "reason": "Arnaques"})
    assert (await _user(paul.id))["suspended_until"].year == 9999
    assert "définitivement" in (await mod.get(f"/users/{paul.id}")).text


MODERATION_POSTS = [
    ("/moderation/users/{member}/suspend", {"duration": "1", "reason": "Test"}),
    ("/moderation/users/{member}/unsuspend", {}),
    ("/moderation/users/{member}/verify", {}),
    ("/moderation/replies/{reply}/hide", {"reason": "Hors sujet"}),
    ("/moderation/replies/{reply}/restore", {}),
    ("/moderation/neighbourhoods/{neighbourhood}/settings", {"requires_verification": "on"}),
    ("/moderation/letters", {"user": "{member}"}),
]


@pytest.mark.parametrize("url,data", MODERATION_POSTS)
@pytest.mark.parametrize("who", ["moderator_elsewhere", "member", "anonymous"])
async def test_moderation_of_people_stops_at_the_quartiers_border(make_client, url, data, who):
    neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire)
    reply = (await Reply.insert(Reply(post=post_id, author=paul.id, body="Bonjour")))[0]["id"]
    other_neighbourhood, (elsewhere,) = await neighbours(1)
    actor = {"moderator_elsewhere": await make_moderator(other_neighbourhood), "member": claire, "anonymous": None}[who]
    client = await signed_in(make_client, actor) if actor else await make_client()
    fill = {"member": paul.id, "reply": reply, "neighbourhood": neighbourhood.id}
    before = await _user(paul.id)
    response = await post_form(client, url.format(**fill), {k: v.format(**fill) for k, v in data.items()})
    if actor is None:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif url == "/moderation/letters" and who == "moderator_elsewhere":
        # Their own letters page, where someone of another quartier is simply not among the choices.
        assert response.status_code == 422 and "Cochez au moins un voisin" in response.text
    else:
        assert response.status_code == 404
    # Nothing changed.
    after = await _user(paul.id)
    assert (after["suspended_until"], after["verification"]) == (before["suspended_until"], before["verification"])
    assert not (await Reply.select(Reply.hidden).where(Reply.id == reply).first())["hidden"]
    assert not (await Neighbourhood.select().where(Neighbourhood.id == neighbourhood.id).first())[
        "requires_verification"
    ]
    assert await VerificationCode.count().where(VerificationCode.user == paul.id) == 0


@pytest.mark.parametrize("url", ["/moderation", "/moderation/log", "/moderation/letters", "/moderation/team"])
async def test_moderation_pages_are_not_there_for_members(make_client, url):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    assert (await client.get(url)).status_code in (403, 404)


async def test_own_quartier_moderator_does_each_action_and_it_is_in_the_audit_log(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    post_id = await make_post(claire, title="Fête des voisins")
    reply = (await Reply.insert(Reply(post=post_id, author=paul.id, body="Vous êtes tous nuls")))[0]["id"]
    mod = await signed_in(make_client, moderator)
    thread = await mod.get(f"/posts/{post_id}")
    assert "Masquer la réponse" in thread.text
    empty = await post_form(mod, f"/moderation/replies/{reply}/hide", {"reason": ""})
    assert empty.status_code == 422 and "obligatoire" in field_error(empty.text, "reason")
    assert (
        await post_form(mod, f"/moderation/replies/{reply}/hide", {"reason": "Propos blessants"})
    ).status_code == 303

    # The author sees why; the others see it was hidden, not the words.
    paul_client = await signed_in(make_client, paul)
    assert "Propos blessants" in (await paul_client.get(f"/posts/{post_id}")).text
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get(f"/posts/{post_id}")
    assert "Vous êtes tous nuls" not in page.text and "Réponse masquée par la modération" in page.text
    told = await notifications_of(paul, "moderation")
    assert "Propos blessants" in told[0]["text"]
    assert "Réponse masquée" in (await claire_client.get("/moderation/public")).text

    await post_form(mod, f"/moderation/replies/{reply}/restore")
    await post_form(mod, f"/moderation/users/{paul.id}/verify")
    assert (await _user(paul.id))["verification"] == "verified"
    await post_form(mod, f"/moderation/neighbourhoods/{neighbourhood.id}/settings", {"requires_verification": "on"})
    audit = await mod.get("/moderation/log")
    for label in ("Réponse masquée", "Réponse rendue visible", "Vérifié par la modération", "Publier demande d"):
        assert label in audit.text, label
    assert "Modeste" in audit.text


async def test_two_verified_neighbours_vouching_make_a_member_verified(make_client):
    neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    newcomer = await make_user(neighbourhood, first_name="Nina")
    await User.update({User.verification: "verified"}).where(User.id.is_in([claire.id, paul.id]))
    unverified = await signed_in(make_client, yasmine)
    refused = await post_form(unverified, f"/users/{newcomer.id}/vouch")
    assert refused.status_code == 422 and "Seuls les voisins vérifiés" in refused.text

    for voucher in (claire, paul):
        client = await signed_in(make_client, voucher)
        assert "je me porte garant" in (await client.get(f"/users/{newcomer.id}")).text
        assert (await post_form(client, f"/users/{newcomer.id}/vouch")).status_code == 303
        await post_form(client, f"/users/{newcomer.id}/vouch")  # twice counts once
    assert (await _user(newcomer.id))["verification"] == "verified"
    assert "Compte vérifié" in (await unverified.get(f"/users/{newcomer.id}")).text

    elsewhere_neighbourhood, (stranger,) = await neighbours(1)
    other = await signed_in(make_client, claire)
    assert (await post_form(other, f"/users/{stranger.id}/vouch")).status_code == 404


async def test_a_letter_code_typed_back_verifies_the_neighbour(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    moderator = await make_moderator(neighbourhood)
    mod = await signed_in(make_client, moderator)
    listing = await mod.get("/moderation/letters")
    assert "Claire V." in listing.text and "1 rue du Test" not in listing.text
    none = await post_form(mod, "/moderation/letters", {})
    assert none.status_code == 422 and "Cochez au moins un voisin" in none.text
    printed = await post_form(mod, "/moderation/letters", {"user": str(claire.id)})
    assert printed.status_code == 200 and "1 rue du Test" in printed.text
    code = re.search(r'<p class="code">([A-Z0-9]{4}-[A-Z0-9]{4})</p>', printed.text).group(1)

    client = await signed_in(make_client, claire)
    wrong = await post_form(client, "/verify", {"code": "AAAA-BBBB"})
    assert wrong.status_code == 422 and "ne correspond pas" in field_error(wrong.text, "code")
    assert 'value="AAAA-BBBB"' in wrong.text
    ok = await post_form(client, "/verify", {"code": code.lower().replace("-", " ")})
    assert ok.status_code == 303 and (await _user(claire.id))["verification"] == "verified"


async def test_too_many_wrong_codes_need_a_new_letter(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    mod = await signed_in(make_client, await make_moderator(neighbourhood))
    printed = await post_form(mod, "/moderation/letters", {"user": str(claire.id)})
    code = re.search(r'<p class="code">([A-Z0-9-]+)</p>', printed.text).group(1)
    client = await signed_in(make_client, claire)
    for _ in range(5):
        await post_form(client, "/verify", {"code": "ZZZZ-ZZZZ"})
    blocked = await post_form(client, "/verify", {"code": code})
    assert blocked.status_code == 422 and "Trop d'essais" in field_error(blocked.text, "code")
    assert (await _user(claire.id))["verification"] != "verified"


async def test_quartier_requiring_verification_stops_unverified_posts_and_first_messages(make_client):
    from tests.factories_posts import publish

    neighbourhood, (claire, paul) = await neighbours(2)
    await Neighbourhood.update({Neighbourhood.requires_verification: True}).where(Neighbourhood.id == neighbourhood.id)
    post_id = await make_post(paul)
    client = await signed_in(make_client, claire)
    refused = await publish(client, {"kind": "give", "title": "Canapé", "body": "À venir chercher."})
    assert refused.status_code == 403 and "vérifié" in refused.text
    first = await post_form(client, "/messages", {"to": str(paul.id), "body": "Bonjour"})
    assert first.status_code == 422 and "vérifié" in first.text and "Bonjour" in first.text
    # Reading and replying stay open.
    assert (await post_form(client, f"/posts/{post_id}/replies", {"body": "Merci !"})).status_code == 303


async def test_reports_of_replies_messages_and_profiles_reach_the_queue_anonymously(make_client):
    neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    moderator = await make_moderator(neighbourhood)
    post_id = await make_post(claire)
    reply = (await Reply.insert(Reply(post=post_id, author=paul.id, body="Achetez mes pilules")))[0]["id"]
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Envoie-moi ton code de carte"})
    conversation = (
        await Conversation.select()
        .where(Conversation.user_a.is_in([claire.id, paul.id]) & Conversation.user_b.is_in([claire.id, paul.id]))
        .first()
    )
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get(f"/messages/{conversation['id']}")
    message_id = int(re.search(r"/report/message/(\d+)", page.text).group(1))

    empty = await post_form(claire_client, f"/report/reply/{reply}", {"reason": ""})
    assert empty.status_code == 422 and "Choisissez" in empty.text
    other = await post_form(claire_client, f"/report/reply/{reply}", {"reason": "other", "text": ""})
    assert other.status_code == 422 and "obligatoire" in field_error(other.text, "text")
    assert (await post_form(claire_client, f"/report/reply/{reply}", {"reason": "spam"})).status_code == 303
    assert (await post_form(claire_client, f"/report/message/{message_id}", {"reason": "scam"})).status_code == 303
    assert (
        await post_form(claire_client, f"/report/user/{paul.id}", {"reason": "other", "text": "Faux profil"})
    ).status_code == 303

    # Only the recipient may show a message; nobody reports themselves.
    yasmine_client = await signed_in(make_client, yasmine)
    assert (await post_form(yasmine_client, f"/report/message/{message_id}", {"reason": "spam"})).status_code == 404
    assert (await post_form(paul_client, f"/report/message/{message_id}", {"reason": "spam"})).status_code == 404
    assert (await post_form(paul_client, f"/report/user/{paul.id}", {"reason": "spam"})).status_code == 404

    mod = await signed_in(make_client, moderator)
    queue = await mod.get("/moderation")
    for text in ("Achetez mes pilules", "Envoie-moi ton code de carte", "Faux profil", "Spam", "Arnaque"):
        assert text in queue.text, text
    assert "Claire" not in queue.text  # the reporter stays anonymous
    report = await Report.select().where((Report.target_type == "message") & (Report.target_user == paul.id)).first()
    assert (await post_form(mod, f"/moderation/reports/{report['id']}/resolved", {"note": "Averti"})).status_code == 303
    closed = await Report.select().where(Report.id == report["id"]).first()
    assert (closed["status"], closed["resolved_by"], closed["resolution_note"]) == ("resolved", moderator.id, "Averti")

    elsewhere, _people = await neighbours(1)
    other_mod = await signed_in(make_client, await make_moderator(elsewhere))
    assert "Achetez mes pilules" not in (await other_mod.get("/moderation")).text


async def test_moderators_and_admins_cannot_read_private_messages(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    admin = await make_user(neighbourhood, first_name="Adèle", role="admin")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Mon digicode est 4821"})
    conversation = await Conversation.select().where(Conversation.user_a.is_in([claire.id, paul.id])).first()
    for person in (moderator, admin):
        client = await signed_in(make_client, person)
        assert (await client.get(f"/messages/{conversation['id']}")).status_code == 404
        assert "4821" not in (await client.get("/messages")).text
        assert "4821" not in (await client.get("/moderation")).text
        assert "4821" not in (await client.get("/moderation/log")).text


async def test_admin_appoints_and_removes_a_moderator_from_a_page(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    admin = await make_user(neighbourhood, first_name="Adèle", role="admin")
    client = await signed_in(make_client, admin)
    unknown = await post_form(
        client, "/moderation/team", {"email": "personne@exemple.fr", "neighbourhood": str(neighbourhood.id)}
    )
    assert unknown.status_code == 422 and "Aucun voisin" in field_error(unknown.text, "email")
    assert 'value="personne@exemple.fr"' in unknown.text
    no_neighbourhood = await post_form(client, "/moderation/team", {"email": claire.email, "neighbourhood": "abc"})
    assert no_neighbourhood.status_code == 422 and "Choisissez un quartier" in field_error(
        no_neighbourhood.text, "neighbourhood"
    )
    done = await post_form(client, "/moderation/team", {"email": claire.email, "neighbourhood": str(neighbourhood.id)})
    assert done.status_code == 303
    assert (await _user(claire.id))["role"] == "moderator"
    claire_client = await signed_in(make_client, claire)
    assert (await claire_client.get("/moderation")).status_code == 200

    assignment = await ModeratorAssignment.select().where(ModeratorAssignment.user == claire.id).first()
    await post_form(client, f"/moderation/team/{assignment['id']}/remove")
    assert (await _user(claire.id))["role"] == "member"
    assert (await claire_client.get("/moderation")).status_code == 404
    # A moderator is not an admin.
    mod = await signed_in(make_client, await make_moderator(neighbourhood))
    assert (
        await post_form(mod, "/moderation/team", {"email": claire.email, "neighbourhood": str(neighbourhood.id)})
    ).status_code == 403


MASS_ASSIGNMENT = {
    "role": "admin",
    "verification": "verified",
    "neighbourhood": "1",
    "suspended_until": "",
    "email": "pirate@exemple.fr",
    "user_id": "1",
    "author": "1",
    "is_admin": "1",
}


@pytest.mark.parametrize(
    "url,data",
    [
        ("/settings", {"locale": "fr"}),
        ("/settings/profile", {"bio": "Bonjour", "skills": "diy"}),
        ("/settings/notifications", {"message": "on"}),
        ("/verify", {"code": "AAAA-BBBB"}),
        ("/report/user/{other}", {"reason": "spam"}),
        ("/users/{other}/vouch", {}),
        ("/users/{other}/block", {}),
        ("/posts/{post}/replies", {"body": "Merci"}),
        ("/messages", {"to": "{other}", "body": "Bonjour"}),
        ("/notifications/read", {}),
    ],
)
async def test_extra_form_fields_never_change_role_quartier_or_verification(make_client, url, data):
    neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul)
    client = await signed_in(make_client, claire)
    fill = {"other": paul.id, "post": post_id}
    before = await _user(claire.id)
    await post_form(client, url.format(**fill), {**MASS_ASSIGNMENT, **{k: v.format(**fill) for k, v in data.items()}})
    after = await _user(claire.id)
    for column in ("role", "verification", "neighbourhood", "suspended_until", "email"):
        assert after[column] == before[column], column
    paul_after = await _user(paul.id)
    assert paul_after["verification"] != "verified" and paul_after["role"] == "member"


async def test_signup_ignores_role_and_verification_fields(make_client):
    client = await make_client()
    await ensure_csrf(client)
    email = "nouvelle.voisine@exemple.fr"
    answer = await post_form(
        client,
        "/signup",
        {
            "first_name": "Inès",
            "last_name": "Durand",
            "email": email,
            "password": "une phrase de passe",
            **{k: v for k, v in MASS_ASSIGNMENT.items() if k != "email"},
        },
    )
    assert answer.status_code == 303
    row = await User.select().where(User.email == email).first()
    assert (row["role"], row["verification"], row["neighbourhood"]) == ("member", "none", None)


async def test_a_too_long_note_keeps_the_report_open_and_the_text(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    client = await signed_in(make_client, claire)
    await post_form(client, f"/report/user/{paul.id}", {"reason": "spam"})
    report = await Report.select().where(Report.target_user == paul.id).first()
    mod = await signed_in(make_client, moderator)
    long_note = "trop long " * 60
    answer = await post_form(mod, f"/moderation/reports/{report['id']}/dismissed", {"note": long_note})
    assert answer.status_code == 422 and "500 caractères au plus" in answer.text and long_note.strip() in answer.text
    assert (await Report.select(Report.status).where(Report.id == report["id"]).first())["status"] == "open"


async def test_a_moderator_of_two_quartiers_and_an_admin_act_beyond_their_own(make_client):
    home, (claire,) = await neighbours(1)
    second, (paul, yasmine) = await neighbours(2)
    moderator = await make_moderator(home)
    await ModeratorAssignment.insert(ModeratorAssignment(user=moderator.id, neighbourhood=second.id))
    admin = await make_user(home, first_name="Adèle", role="admin")
    post_id = await make_post(paul, title="Vente de contrefaçons")
    mod = await signed_in(make_client, moderator)
    assert "Masquer l" in (await mod.get(f"/posts/{post_id}")).text
    assert (await post_form(mod, f"/moderation/posts/{post_id}/hide", {"reason": "Contrefaçon"})).status_code == 303
    assert (
        await post_form(mod, f"/moderation/users/{paul.id}/suspend", {"duration": "1", "reason": "Contrefaçon"})
    ).status_code == 303
    boss = await signed_in(make_client, admin)
    assert (await post_form(boss, f"/moderation/posts/{post_id}/restore")).status_code == 303
    assert (await post_form(boss, f"/moderation/users/{yasmine.id}/verify")).status_code == 303
    # Their neighbours still see only their own quartier.
    assert (await (await signed_in(make_client, claire)).get(f"/posts/{post_id}")).status_code == 404


async def test_the_suspended_neighbour_is_told_why_by_mail_in_their_language(make_client):
    from tests.mailbox import body_of, smtp_server

    neighbourhood, _people = await neighbours(1)
    john = await make_user(neighbourhood, first_name="John", locale="en")
    mod = await signed_in(make_client, await make_moderator(neighbourhood))
    with smtp_server() as box:
        await post_form(mod, f"/moderation/users/{john.id}/suspend", {"duration": "30", "reason": "Spam répété"})
        msg = await box.wait_for(john.email)
    assert msg["Subject"] == "Your Voisinage account is suspended"
    assert "Reason: Spam répété" in body_of(msg) and "until" in body_of(msg)
    # The sender reads no replies: the mail names who does, and replies go there.
    assert "To contest this decision, write to moderation@voisinage.localhost" in body_of(msg)
    assert msg["Reply-To"] == "moderation@voisinage.localhost" and "ne-pas-repondre" in msg["From"]


async def test_the_suspension_mail_names_where_to_contest_it(make_client, monkeypatch):
    from app.settings import get_settings
    from tests.mailbox import body_of, smtp_server

    neighbourhood, (odile,) = await neighbours(1)
    mod = await signed_in(make_client, await make_moderator(neighbourhood))
    monkeypatch.setenv("VOISINAGE_MODERATION_EMAIL", "recours@mairie-exemple.fr")
    with smtp_server() as box:
        await post_form(mod, f"/moderation/users/{odile.id}/suspend", {"duration": "7", "reason": "Insultes"})
        msg = await box.wait_for(odile.email)
    get_settings.cache_clear()
    assert msg["Subject"] == "Votre compte Voisinage est suspendu"
    assert "Pour contester cette décision, écrivez à recours@mairie-exemple.fr" in body_of(msg)
    assert msg["Reply-To"] == "recours@mairie-exemple.fr"


async def test_letters_for_several_neighbours_each_get_their_own_code(make_client):
    neighbourhood, people = await neighbours(3)
    mod = await signed_in(make_client, await make_moderator(neighbourhood))
    printed = await post_form(mod, "/moderation/letters", {"user": [str(p.id) for p in people]})
    codes = re.findall(r'<p class="code">([A-Z0-9]{4}-[A-Z0-9]{4})</p>', printed.text)
    assert len(codes) == 3 and len(set(codes)) == 3
    # The second neighbour's code verifies the second neighbour only.
    client = await signed_in(make_client, people[1])
    assert (await post_form(client, "/verify", {"code": codes[1]})).status_code == 303
    assert [(await _user(p.id))["verification"] for p in people] == ["address_checked", "verified", "address_checked"]
