"""Answering each other: public replies, private messages, lending."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.messages.tables import Conversation
from app.posts import loans
from app.posts.tables import Loan, Post
from tests.factories import field_error, notifications_of, post_form
from tests.factories_posts import make_post, neighbours, signed_in

PARIS = ZoneInfo("Europe/Paris")


async def _notes(user, kind):
    return await notifications_of(user, kind)


async def test_neighbour_reply_notifies_author_and_earlier_repliers(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_post(claire, title="Perceuse à donner")
    paul_client = await signed_in(make_client, paul)
    first = await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je suis intéressé !"})
    assert first.status_code == 303 and first.headers["location"] == f"/posts/{post_id}#replies"
    yasmine_client = await signed_in(make_client, yasmine)
    await post_form(yasmine_client, f"/posts/{post_id}/replies", {"body": "Moi aussi si Paul ne la prend pas."})

    to_claire = await _notes(claire, "reply_to_post")
    assert len(to_claire) == 2 and "Paul V. a répondu à « Perceuse à donner »" in to_claire[0]["text"]
    assert to_claire[0]["url"] == f"/posts/{post_id}#replies"
    to_paul = await _notes(paul, "reply_in_thread")
    assert len(to_paul) == 1 and "Yasmine V." in to_paul[0]["text"]
    assert await _notes(yasmine, "reply_in_thread") == []
    page = await yasmine_client.get(f"/posts/{post_id}")
    assert "Je suis intéressé !" in page.text and "2 réponses" in page.text
    assert (await Post.select(Post.reply_count).where(Post.id == post_id).first())["reply_count"] == 2


async def test_reply_with_htmx_comes_back_as_the_thread_fragment(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire)
    client = await signed_in(make_client, paul)
    response = await post_form(
        client, f"/posts/{post_id}/replies", {"body": "Dispo ce soir ?"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="replies"') and "Dispo ce soir ?" in response.text
    bad = await post_form(client, f"/posts/{post_id}/replies", {"body": "   "}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "obligatoire" in field_error(bad.text, "body")


async def test_locked_post_refuses_replies_and_keeps_the_text(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire)
    await Post.update({Post.locked: True}).where(Post.id == post_id)
    client = await signed_in(make_client, paul)
    response = await post_form(client, f"/posts/{post_id}/replies", {"body": "Encore dispo ?"})
    assert response.status_code == 422 and "fermées" in field_error(response.text, "body")
    assert "Encore dispo ?" in response.text


async def test_neighbours_write_privately_with_unread_counts(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Poussette")
    paul_client = await signed_in(make_client, paul)
    form = await paul_client.get(f"/messages/new?to={claire.id}&post={post_id}")
    assert form.status_code == 200 and "Poussette" in form.text
    empty = await post_form(paul_client, "/messages", {"to": str(claire.id), "post": str(post_id), "body": ""})
    assert empty.status_code == 422 and "obligatoire" in field_error(empty.text, "body")
    sent = await post_form(
        paul_client, "/messages", {"to": str(claire.id), "post": str(post_id), "body": "Elle est encore là ?"}
    )
    assert sent.status_code == 303
    conversation = sent.headers["location"].split("#")[0]
    # Writing again about the same post continues the same conversation.
    again = await post_form(
        paul_client, "/messages", {"to": str(claire.id), "post": str(post_id), "body": "Je peux passer à 18 h."}
    )
    assert again.headers["location"].split("#")[0] == conversation

    claire_client = await signed_in(make_client, claire)
    inbox = await claire_client.get("/messages")
    assert "Paul V." in inbox.text and "2 non lus" in inbox.text and "Poussette" in inbox.text
    thread = await claire_client.get(conversation)
    assert "Elle est encore là ?" in thread.text and "Je peux passer à 18 h." in thread.text
    # Opening the conversation read it.
    # (The navigation still counts the unread notifications; the inbox counts no message.)
    assert "non lu" not in (await claire_client.get("/messages")).text.split("<main", 1)[1]
    answer = await post_form(claire_client, conversation, {"body": "Oui, à tout à l'heure !"})
    assert answer.status_code == 303
    told = await _notes(paul, "message")
    assert len(told) == 1 and "Claire V." in told[0]["text"] and told[0]["url"] == conversation


async def test_nobody_else_reads_a_conversation(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    paul_client = await signed_in(make_client, paul)
    sent = await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Coucou"})
    conversation = sent.headers["location"].split("#")[0]
    curious = await signed_in(make_client, yasmine)
    assert (await curious.get(conversation)).status_code == 404
    assert (await post_form(curious, conversation, {"body": "Je m'incruste"})).status_code == 404
    assert (await post_form(curious, conversation + "/read")).status_code == 404


async def test_cannot_write_to_someone_of_another_quartier_or_to_oneself(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    _other, (stranger,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    assert (await client.get(f"/messages/new?to={stranger.id}")).status_code == 404
    assert (await post_form(client, "/messages", {"to": str(stranger.id), "body": "Bonjour"})).status_code == 404
    assert (await post_form(client, "/messages", {"to": str(claire.id), "body": "Moi"})).status_code == 404
    assert await Conversation.count().where(Conversation.user_a == min(claire.id, stranger.id)) == 0


async def test_lending_flow_from_loan_to_reminder_to_return(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, kind="lend", title="Scie sauteuse", details={"loan_days": 5})
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get(f"/posts/{post_id}")
    assert "Quand un voisin aura répondu" in page.text
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je peux l'emprunter samedi ?"})

    today = datetime.now(PARIS).date()
    past = await post_form(
        claire_client,
        f"/posts/{post_id}/status",
        {"status": "lent", "borrower": str(paul.id), "due_on": (today - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 422 and "déjà passée" in field_error(past.text, "due_on")
    due = today + timedelta(days=3)
    lent = await post_form(
        claire_client,
        f"/posts/{post_id}/status",
        {"status": "lent", "borrower": str(paul.id), "due_on": due.isoformat()},
    )
    assert lent.status_code == 303
    assert "Prêté à Paul V." in (await claire_client.get(f"/posts/{post_id}")).text
    # Both see it on their profile.
    assert "Scie sauteuse" in (await paul_client.get(f"/users/{paul.id}")).text
    assert "prêté à Paul V." in (await claire_client.get(f"/users/{claire.id}")).text

    # Two days later, the day before it is due, Paul is reminded once.
    two_days_later = datetime.now(timezone.utc) + timedelta(days=2)
    await loans.send_loan_reminders(two_days_later)
    await loans.send_loan_reminders(two_days_later)
    reminders = [n for n in await _notes(paul, "loan") if "À rendre demain" in n["text"]]
    assert len(reminders) == 1 and "Scie sauteuse" in reminders[0]["text"]

    back = await post_form(claire_client, f"/posts/{post_id}/status", {"status": "returned"})
    assert back.status_code == 303
    loan = await Loan.select().where(Loan.post == post_id).first()
    assert loan["returned_at"] is not None
    assert (await Post.select(Post.status).where(Post.id == post_id).first())["status"] == "open"


async def test_only_someone_who_answered_can_be_the_borrower(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, kind="lend", details={"loan_days": 5})
    client = await signed_in(make_client, claire)
    due = (datetime.now(PARIS).date() + timedelta(days=3)).isoformat()
    response = await post_form(
        client, f"/posts/{post_id}/status", {"status": "lent", "borrower": str(paul.id), "due_on": due}
    )
    assert response.status_code == 422 and "a répondu" in field_error(response.text, "borrower")


async def test_profile_shows_skills_and_open_posts_but_never_the_address(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await make_post(claire, title="Cours de guitare")
    claire_client = await signed_in(make_client, claire)
    await post_form(
        claire_client,
        "/settings/profile",
        {"skills": ["informatique"], "bio": "Prof de musique", "role": "admin", "verification": "verified"},
    )
    paul_client = await signed_in(make_client, paul)
    profile = await paul_client.get(f"/users/{claire.id}")
    assert profile.status_code == 200
    assert "Claire V." in profile.text and "Voisin0" not in profile.text
    assert "Informatique" in profile.text and "Cours de guitare" in profile.text and "Prof de musique" in profile.text
    assert claire.address_label not in profile.text and "rue du Test" not in profile.text
    directory = await paul_client.get("/neighbours?skill=informatique")
    assert "Claire V." in directory.text
    bad = await post_form(claire_client, "/settings/profile", {"skills": ["espionnage"], "bio": "x"})
    assert bad.status_code == 422
    from app.accounts.queries import user_by_id

    again = await user_by_id(claire.id)
    assert again.role == "member" and again.verification != "verified"


async def test_blocking_hides_a_neighbour_and_can_be_undone_from_their_profile(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await make_post(paul, title="Annonce de Paul")
    client = await signed_in(make_client, claire)
    assert (await post_form(client, f"/users/{paul.id}/block")).status_code == 303
    assert "Annonce de Paul" not in (await client.get("/feed")).text
    profile = await client.get(f"/users/{paul.id}")
    assert profile.status_code == 200 and "Débloquer" in profile.text and "Annonce de Paul" not in profile.text
    # Paul no longer finds Claire at all.
    paul_client = await signed_in(make_client, paul)
    assert (await paul_client.get(f"/users/{claire.id}")).status_code == 404
    await post_form(client, f"/users/{paul.id}/unblock")
    assert "Annonce de Paul" in (await client.get("/feed")).text
