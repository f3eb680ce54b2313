"""Text is what it looks like: what neighbours type is stored composed (NFC),
without bidirectional controls nor invisible characters, wherever it is typed."""

from __future__ import annotations

import uuid

from app.accounts import queries as accounts
from app.messages.tables import Message
from app.posts.tables import Post, Reply
from tests.factories import field_error, input_value, post_form
from tests.factories_posts import make_post, neighbours, publish, signed_in

# A right-to-left override shows what follows backwards; zero-width spaces and
# joiners hide inside words; "e" + a combining accent must be stored as one "è".
RLO, PDI, LRI, ZWSP, ZWJ, ZWNJ, LRM, WJ, BOM = (
    "\u202e",
    "\u2069",
    "\u2066",
    "\u200b",
    "\u200d",
    "\u200c",
    "\u200e",
    "\u2060",
    "\ufeff",
)


async def test_a_name_of_invisible_characters_is_refused_at_the_field_with_the_input_kept(client):
    email = f"fantome.{uuid.uuid4().hex[:8]}@exemple.fr"
    response = await post_form(
        client,
        "/signup",
        {
            "first_name": ZWSP + ZWJ + LRI + PDI,
            "last_name": "Lefèvre",
            "email": email,
            "password": "les tilleuls de la place",
        },
    )
    assert response.status_code == 422
    assert field_error(response.text, "first_name") == "Ce champ est obligatoire."
    assert input_value(response.text, "last_name") == "Lefèvre" and input_value(response.text, "email") == email
    assert await accounts.user_by_email(email) is None


async def test_a_name_is_stored_composed_and_without_hidden_characters(client):
    email = f"zoe.{uuid.uuid4().hex[:8]}@exemple.fr"
    response = await post_form(
        client,
        "/signup",
        {
            "first_name": f"Zoe\u0301{ZWSP}",
            "last_name": f"{RLO}Mu\u0308ller{PDI}",
            "email": email,
            "password": "les tilleuls de la place",
        },
    )
    assert response.status_code == 303
    user = await accounts.user_by_email(email)
    assert (user.first_name, user.last_name) == ("Zoé", "Müller")


async def test_a_post_a_reply_and_a_message_lose_bidi_and_zero_width_characters(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, claire)
    # Between two emoji a joiner makes one picture (a family, a rainbow flag): it stays.
    family, rainbow = f"👩{ZWJ}👧{ZWJ}👦", f"🏳\ufe0f{ZWJ}🌈"
    done = await publish(
        client,
        {
            "kind": "give",
            "title": f"Cafetie\u0300re {RLO}à donner",
            "body": f"Bon{ZWSP}jour,{LRM} elle marche{WJ} tre\u0300s bien.{BOM} {family} {rainbow}",
        },
    )
    assert done.status_code == 303
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    post = await Post.select(Post.title, Post.body).where(Post.id == post_id).first()
    assert post == {"title": "Cafetière à donner", "body": f"Bonjour, elle marche très bien. {family} {rainbow}"}

    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": f"Je{ZWNJ} la prends{LRI} volontiers{PDI} !"})
    [reply] = await Reply.select(Reply.body).where(Reply.post == post_id)
    assert reply["body"] == "Je la prends volontiers !"
    page = await paul_client.get(f"/posts/{post_id}")
    assert "Cafetière à donner" in page.text and "Je la prends volontiers !" in page.text

    sent = await post_form(
        paul_client, "/messages", {"to": str(claire.id), "body": f"{RLO}A{ZWSP}ve\u0301nue du Parc{PDI}"}
    )
    assert sent.status_code == 303
    message = await Message.select(Message.body).where(Message.sender == paul.id).first()
    assert message["body"] == "Avénue du Parc"


async def test_a_body_of_only_invisible_characters_is_empty(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire)
    client = await signed_in(make_client, paul)
    response = await post_form(client, f"/posts/{post_id}/replies", {"body": f"{ZWSP}{ZWJ}\n{BOM}"})
    assert response.status_code == 422 and field_error(response.text, "body") == "Ce champ est obligatoire."
    assert await Reply.count().where(Reply.post == post_id) == 0
