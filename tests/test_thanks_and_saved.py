"""Thanks, trust on profiles, saved posts and sharing (issue 18, item 6)."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
import zipfile
from datetime import datetime, timezone

from app.accounts.tables import User
from app.moderation.actions import act_on_post
from app.posts import queries
from app.posts.tables import Post, SavedPost, Thanks
from tests.factories import field_error, input_value, make_moderator, notifications_of, post_form
from tests.factories_posts import make_post, neighbours, signed_in


def _text(page) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


def _saved_titles(page) -> list[str]:
    return re.findall(r'<h3><a href="/posts/\d+">([^<]+)</a></h3>', page.text)


async def test_the_author_thanks_who_helped_and_the_post_closes(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
    drill = await make_post(claire, title="Perceuse à donner")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{drill}/replies", {"body": "Je la prendrais volontiers !"})
    claire_client = await signed_in(make_client, claire)

    page = await claire_client.get(f"/posts/{drill}")
    assert "Qui vous a aidé ?" in page.text and f'name="helper" value="{paul.id}"' in page.text
    # Only the people involved are offered: Yasmine never answered.
    assert f'name="helper" value="{yasmine.id}"' not in page.text

    done = await post_form(claire_client, f"/posts/{drill}/thanks", {"helper": str(paul.id)})
    assert done.status_code == 303
    page = await paul_client.get(f"/posts/{drill}")
    assert "Merci à Paul V." in _text(page) and "Donné" in page.text
    feed = await paul_client.get("/feed")
    assert "Merci à Paul V." in _text(feed)
    (note,) = await notifications_of(paul, "thanks")
    assert note["text"] == "Claire V. vous remercie pour « Perceuse à donner »"
    assert note["url"] == f"/posts/{drill}"

    # Thanking again changes nothing: one thanks per post and person.
    await post_form(claire_client, f"/posts/{drill}/thanks", {"helper": str(paul.id)})
    assert await Thanks.count().where(Thanks.post == drill) == 1
    assert len(await notifications_of(paul, "thanks")) == 1


async def test_the_author_may_thank_a_neighbour_by_name_and_bad_names_are_explained(make_client):
    hood, (claire, paul, yasmine) = await neighbours(3)
    _elsewhere, (stranger,) = await neighbours(1)
    await User.update({User.first_name: "Olivier"}).where(User.id == stranger.id)
    help_post = await make_post(claire, kind="help_request", title="Porter un canapé")
    client = await signed_in(make_client, claire)

    nobody = await post_form(client, f"/posts/{help_post}/thanks", {"name": "Olivier"})
    assert nobody.status_code == 422
    assert field_error(nobody.text, "name") == "Aucun voisin du quartier ne porte ce nom."
    assert input_value(nobody.text, "name") == "Olivier"
    empty = await post_form(client, f"/posts/{help_post}/thanks", {"name": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, "helper") == "Choisissez qui vous a aidé, ou écrivez son nom."

    from tests.factories import make_user

    await make_user(hood, first_name="Yasmine", last_name="Bernard")
    twice = await post_form(client, f"/posts/{help_post}/thanks", {"name": "yasmine"})
    assert "Plusieurs voisins portent ce nom" in field_error(twice.text, "name")
    assert (await Post.select(Post.status).where(Post.id == help_post).first())["status"] == "open"

    done = await post_form(client, f"/posts/{help_post}/thanks", {"name": "Yasmine Voisin"})
    assert done.status_code == 303
    page = await client.get(f"/posts/{help_post}")
    assert "Merci à Yasmine V." in _text(page) and "Résolu" in page.text
    assert [t["helper"] for t in await Thanks.select(Thanks.helper).where(Thanks.post == help_post)] == [yasmine.id]
    assert paul.id != yasmine.id


async def test_only_the_author_thanks_only_people_involved_never_themselves(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
    drill = await make_post(claire, title="Perceuse à donner")
    tip = await make_post(claire, kind="tip", title="Marché bio le samedi")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{drill}/replies", {"body": "Intéressé !"})
    claire_client = await signed_in(make_client, claire)

    # A neighbour cannot thank in the author's place (the form is not theirs).
    assert (await post_form(paul_client, f"/posts/{drill}/thanks", {"helper": str(paul.id)})).status_code == 404
    # Not oneself, not someone who had no part in it.
    for who in (claire.id, yasmine.id):
        refused = await post_form(claire_client, f"/posts/{drill}/thanks", {"helper": str(who)})
        assert refused.status_code == 422
        assert field_error(refused.text, "helper") == "Choisissez parmi les personnes proposées."
    myself = await post_form(claire_client, f"/posts/{drill}/thanks", {"name": "Claire Voisin0"})
    assert field_error(myself.text, "name") == "Aucun voisin du quartier ne porte ce nom."
    # A tip thanks nobody.
    assert (await post_form(claire_client, f"/posts/{tip}/thanks", {"helper": str(paul.id)})).status_code == 404
    assert await Thanks.count() == 0 or not await Thanks.exists().where(Thanks.post.is_in([drill, tip]))


async def test_a_neighbour_who_wrote_or_borrowed_can_be_thanked_several_at_once(make_client):
    _hood, (claire, paul, yasmine, hugo) = await neighbours(4)
    saw = await make_post(claire, kind="lend", title="Scie sauteuse", details={"loan_days": 5})
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, "/messages", {"to": str(claire.id), "post": str(saw), "body": "Je peux passer ?"})
    for person in (yasmine, hugo):
        await post_form(await signed_in(make_client, person), f"/posts/{saw}/replies", {"body": "Moi aussi !"})
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get(f"/posts/{saw}")
    assert all(f'name="helper" value="{p.id}"' in page.text for p in (paul, yasmine, hugo))

    done = await claire_client.post(
        f"/posts/{saw}/thanks",
        data={
            "helper": [str(paul.id), str(yasmine.id), str(hugo.id)],
            "_csrf_token": claire_client.cookies.get("csrftoken"),
        },
    )
    assert done.status_code == 303
    assert "Merci à Paul V., Yasmine V., Hugo V." in _text(await claire_client.get(f"/posts/{saw}"))
    # The feed's card says it short.
    assert "Merci à Paul V., Yasmine V. +1" in _text(await claire_client.get("/feed"))


async def test_profiles_say_how_many_neighbours_one_helped_and_since_when_one_is_a_member(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
    await User.update({User.created_at: datetime(2025, 10, 14, 9, tzinfo=timezone.utc)}).where(User.id == paul.id)
    for author, title in ((claire, "Perceuse"), (claire, "Escabeau"), (yasmine, "Porter un canapé")):
        post_id = await make_post(author, title=title)
        await post_form(await signed_in(make_client, paul), f"/posts/{post_id}/replies", {"body": "Je peux !"})
        await post_form(await signed_in(make_client, author), f"/posts/{post_id}/thanks", {"helper": str(paul.id)})

    reader = await signed_in(make_client, yasmine)
    profile = _text(await reader.get(f"/users/{paul.id}"))
    # Claire thanked twice: two different neighbours.
    assert "a aidé 2 voisins" in profile and "membre depuis octobre 2025" in profile
    await User.update({User.locale: "en"}).where(User.id == yasmine.id)
    profile = _text(await reader.get(f"/users/{paul.id}"))
    assert "helped 2 neighbours" in profile and "member since October 2025" in profile
    newcomer = _text(await reader.get(f"/users/{claire.id}"))
    assert "a aidé" not in newcomer and "helped" not in newcomer


async def test_a_neighbour_saves_posts_and_finds_them_newest_saved_first(make_client):
    _hood, (claire, paul) = await neighbours(2)
    posts = [await make_post(claire, title=f"Annonce numéro {i:02d}") for i in range(23)]
    client = await signed_in(make_client, paul)

    # Without JavaScript: a form, then back to the post.
    done = await post_form(client, f"/posts/{posts[0]}/save", {"saved": "1"})
    assert done.status_code == 303 and done.headers["location"] == f"/posts/{posts[0]}"
    page = await client.get(f"/posts/{posts[0]}")
    assert "Enregistré" in page.text and 'name="saved" value="0"' in page.text
    # With htmx: the button alone comes back, turned.
    fragment = await post_form(client, f"/posts/{posts[1]}/save", {"saved": "1"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<form class="save-post"')
    assert "Enregistré" in fragment.text and "<html" not in fragment.text
    for post_id in posts[2:]:
        await post_form(client, f"/posts/{post_id}/save", {"saved": "1"})
    # Saving twice keeps one.
    await post_form(client, f"/posts/{posts[5]}/save", {"saved": "1"})
    assert await SavedPost.count().where(SavedPost.user == paul.id) == 23

    first = await client.get("/saved")
    titles = _saved_titles(first)
    assert titles[0] == "Annonce numéro 22" and len(titles) == 20
    more = re.search(r'href="(/saved\?before=\d+)"', first.text).group(1)
    second = await client.get(more, headers={"HX-Request": "true"})
    assert _saved_titles(second) == ["Annonce numéro 02", "Annonce numéro 01", "Annonce numéro 00"]

    await post_form(client, f"/posts/{posts[22]}/save", {"saved": "0"})
    assert "Annonce numéro 22" not in _saved_titles(await client.get("/saved"))
    # The feed's cards say which are saved, for this reader only.
    feed = await client.get("/feed")
    assert feed.text.count("Enregistré") >= 19
    assert "Enregistré" not in (await (await signed_in(make_client, claire)).get("/feed")).text


async def test_saved_list_drops_what_its_reader_may_no_longer_see(make_client):
    hood, (claire, paul, hugo) = await neighbours(3)
    elsewhere, _ = await neighbours(1)
    moderator = await make_moderator(hood)
    kept = await make_post(claire, title="Toujours visible")
    hidden = await make_post(claire, title="Masquée par la modération")
    deleted = await make_post(claire, title="Supprimée par son autrice")
    blocked = await make_post(hugo, title="De quelqu'un de bloqué")
    client = await signed_in(make_client, paul)
    for post_id in (kept, hidden, deleted, blocked):
        await post_form(client, f"/posts/{post_id}/save", {"saved": "1"})
    assert len(_saved_titles(await client.get("/saved"))) == 4

    await act_on_post(moderator, await queries.post_by_id(hidden), "hide", "Hors sujet")
    await post_form(await signed_in(make_client, claire), f"/posts/{deleted}/delete")
    await post_form(client, f"/users/{hugo.id}/block")
    assert _saved_titles(await client.get("/saved")) == ["Toujours visible"]

    # Moving to another quartier: its posts are no longer one's to see.
    await User.update({User.neighbourhood: elsewhere.id}).where(User.id == paul.id)
    assert _saved_titles(await client.get("/saved")) == []
    assert "Aucune annonce enregistrée" in (await client.get("/saved")).text


async def test_a_post_offers_its_link_to_share_and_the_link_shows_outsiders_only_the_login(make_client):
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Tondeuse à prêter", body="Secret de voisinage")
    page = await (await signed_in(make_client, paul)).get(f"/posts/{post_id}")
    link = re.search(r'<input id="share-url" type="url" readonly value="([^"]+)"', page.text).group(1)
    assert link.endswith(f"/posts/{post_id}") and link.startswith("http")
    assert "Partager" in page.text and "Copier le lien" in page.text

    stranger = await make_client()
    opened = await stranger.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert opened.status_code == 303 and opened.headers["location"].startswith("/login")
    assert "Tondeuse" not in opened.text and "Secret" not in opened.text


async def test_export_holds_thanks_and_saved_posts_and_erasure_takes_them_away(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
    drill = await make_post(claire, title="Perceuse à donner")
    ladder = await make_post(yasmine, title="Escabeau à donner")
    paul_client = await signed_in(make_client, paul)
    for post_id in (drill, ladder):
        await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je peux !"})
    await post_form(await signed_in(make_client, claire), f"/posts/{drill}/thanks", {"helper": str(paul.id)})
    await post_form(await signed_in(make_client, yasmine), f"/posts/{ladder}/thanks", {"helper": str(paul.id)})
    await post_form(paul_client, f"/posts/{drill}/save", {"saved": "1"})

    archive = zipfile.ZipFile(io.BytesIO((await paul_client.get("/settings/export")).content))
    data = json.loads(archive.read("voisinage.json"))
    assert sorted(t["post"] for t in data["thanks"]["received"]) == [drill, ladder]
    assert data["thanks"]["given"] == []
    assert [s["post"] for s in data["saved_posts"]] == [drill]
    claire_data = json.loads(
        zipfile.ZipFile(
            io.BytesIO((await (await signed_in(make_client, claire)).get("/settings/export")).content)
        ).read("voisinage.json")
    )
    assert [(t["post"], t["helper"]) for t in claire_data["thanks"]["given"]] == [(drill, paul.id)]

    # Claire leaves: Paul keeps what he was thanked for.
    claire_client = await signed_in(make_client, claire)
    await post_form(claire_client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert "a aidé 2 voisins" in _text(await (await signed_in(make_client, yasmine)).get(f"/users/{paul.id}"))
    # Paul leaves: the thanks naming him and his saved posts go with him.
    gone = await post_form(paul_client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303
    assert await Thanks.count().where(Thanks.post.is_in([drill, ladder])) == 0
    assert await SavedPost.count().where(SavedPost.post == drill) == 0
    assert "Merci à" not in _text(await (await signed_in(make_client, yasmine)).get(f"/posts/{ladder}"))


async def test_the_same_thanks_sent_twice_at_once_is_written_and_told_once(make_client):
    _hood, (claire, paul) = await neighbours(2)
    drill = await make_post(claire, title="Perceuse à donner")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{drill}/replies", {"body": "Je la prends !"})
    first, second = await signed_in(make_client, claire), await signed_in(make_client, claire)
    for client in (first, second):
        await client.get(f"/posts/{drill}")
    answers = await asyncio.gather(
        *(
            c.post(f"/posts/{drill}/thanks", data={"helper": str(paul.id), "_csrf_token": c.cookies.get("csrftoken")})
            for c in (first, second)
        )
    )
    assert [a.status_code for a in answers] == [303, 303]
    assert await Thanks.count().where(Thanks.post == drill) == 1
    assert len(await notifications_of(paul, "thanks")) == 1


async def test_a_neighbour_chooses_how_thanks_reach_them(make_client):
    from app.notify.tables import MailDelivery

    _hood, (claire, paul) = await neighbours(2)
    paul_client = await signed_in(make_client, paul)
    settings = await paul_client.get("/settings/notifications")
    assert "Remerciements pour mon aide" in settings.text
    await post_form(paul_client, "/settings/notifications", {"thanks": "push", "digest": "weekly"})
    drill = await make_post(claire, title="Perceuse à donner")
    await post_form(paul_client, f"/posts/{drill}/replies", {"body": "Je la prends !"})
    await MailDelivery.delete().where(MailDelivery.user == paul.id)
    await post_form(await signed_in(make_client, claire), f"/posts/{drill}/thanks", {"helper": str(paul.id)})
    # Told on the page (and device), not by mail, as he chose.
    assert len(await notifications_of(paul, "thanks")) == 1
    assert await MailDelivery.count().where(MailDelivery.user == paul.id) == 0
