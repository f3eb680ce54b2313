"""Publishing annonces: each kind, bad inputs, inline checks, editing, statuses."""

from __future__ import annotations

import pytest

from app.notify.tables import Notification
from app.posts import queries
from app.posts.tables import Post
from tests.factories import field_error, notifications_of, post_form
from tests.factories_posts import make_post, neighbours, publish, signed_in


async def test_neighbour_lends_a_drill_with_the_loan_period(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    form = await client.get("/posts/new?kind=lend")
    assert form.status_code == 200 and 'name="loan_days"' in form.text
    done = await publish(
        client, {"kind": "lend", "title": "Perceuse à prêter", "body": "Bosch, avec forets.", "loan_days": "7"}
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "Perceuse à prêter" in page.text and "Prêt pour 7 jours" in page.text


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"title": "", "body": "Texte"}, "title", "Ce champ est obligatoire"),
        ({"title": "T" * 121, "body": "Texte"}, "title", "120 caractères au plus"),
        ({"title": "Table", "body": ""}, "body", "Ce champ est obligatoire"),
        ({"title": "Table", "body": "x" * 5001}, "body", "5000 caractères au plus"),
        ({"title": "Perceuse", "body": "Texte", "kind": "lend"}, "loan_days", "Ce champ est obligatoire"),
        ({"title": "Perceuse", "body": "Texte", "kind": "lend", "loan_days": "500"}, "loan_days", "entre 1 et 90"),
        (
            {"title": "Aide", "body": "Texte", "kind": "help_request", "skill": "piratage"},
            "skill",
            "Choisissez une des options",
        ),
    ],
)
async def test_bad_annonce_is_explained_next_to_the_field_and_kept(make_client, data, field, message):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    before = await Post.count()
    response = await publish(client, {"kind": "give", **data})
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    if data.get("body"):
        assert data["body"][:50] in response.text
    assert await Post.count() == before


async def test_fields_are_checked_while_typing(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    response = await client.get(
        "/posts/validate", params={"field": "title", "title": "ab", "kind": "give"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.strip().startswith('<p class="error" id="f-title-error">')
    assert "3 caractères au moins" in response.text
    fine = await client.get(
        "/posts/validate",
        params={"field": "title", "title": "Table basse", "kind": "give"},
        headers={"HX-Request": "true"},
    )
    assert field_error(fine.text, "title") == ""


async def test_author_edits_and_deletes_their_annonce_but_nobody_else_can(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Canapé à donner")
    paul_client = await signed_in(make_client, paul)
    assert (await paul_client.get(f"/posts/{post_id}/edit")).status_code == 404
    assert (await post_form(paul_client, f"/posts/{post_id}/delete")).status_code == 404
    client = await signed_in(make_client, claire)
    bad = await post_form(client, f"/posts/{post_id}/edit", {"title": "", "body": "Bleu"})
    assert bad.status_code == 422 and "Bleu" in bad.text
    edited = await post_form(
        client, f"/posts/{post_id}/edit", {"title": "Canapé bleu à donner", "body": "Trois places."}
    )
    assert edited.status_code == 303
    assert "Canapé bleu à donner" in (await client.get(f"/posts/{post_id}")).text
    gone = await post_form(client, f"/posts/{post_id}/delete")
    assert gone.status_code == 303
    assert await Post.count().where(Post.id == post_id) == 0


async def test_mass_assignment_cannot_move_or_pin_a_post(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    other, _ = await neighbours(1)
    client = await signed_in(make_client, claire)
    done = await publish(
        client,
        {
            "kind": "give",
            "title": "Lampe",
            "body": "Ancienne",
            "neighbourhood": str(other.id),
            "pinned": "1",
            "author": "1",
            "status": "done",
        },
    )
    post = await Post.objects().where(Post.id == int(done.headers["location"].rsplit("/", 1)[1])).first()
    assert (
        post.neighbourhood == neighbourhood.id
        and not post.pinned
        and post.author == claire.id
        and post.status == "open"
    )


async def test_giving_goes_from_reserved_to_given(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    post_id = await make_post(claire, kind="give")
    client = await signed_in(make_client, claire)
    assert (await post_form(client, f"/posts/{post_id}/status", {"status": "reserved"})).status_code == 303
    assert "Réservé" in (await client.get(f"/posts/{post_id}")).text
    assert (await post_form(client, f"/posts/{post_id}/status", {"status": "done"})).status_code == 303
    assert "Donné" in (await client.get(f"/posts/{post_id}")).text
    wrong = await post_form(client, f"/posts/{post_id}/status", {"status": "hidden"})
    assert wrong.status_code == 422 and "Choisissez" in field_error(wrong.text, "status")


async def test_help_request_is_marked_solved(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    post_id = await make_post(claire, kind="help_request", title="Porter un canapé")
    client = await signed_in(make_client, claire)
    await post_form(client, f"/posts/{post_id}/status", {"status": "done"})
    assert "Résolu" in (await client.get(f"/posts/{post_id}")).text


async def test_help_request_naming_a_skill_notifies_who_offers_it(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    paul_client = await signed_in(make_client, paul)
    saved = await post_form(
        paul_client, "/settings/profile", {"skills": ["bricolage", "jardinage"], "bio": "Retraité bricoleur"}
    )
    assert saved.status_code == 303
    client = await signed_in(make_client, claire)
    done = await publish(
        client, {"kind": "help_request", "title": "Fixer une étagère", "body": "Mur en placo", "skill": "bricolage"}
    )
    assert done.status_code == 303
    told = await notifications_of(paul, "help_match")
    assert [n["text"] for n in told if "Fixer une étagère" in n["text"]] == [
        "Claire V. cherche de l'aide : « Fixer une étagère »"
    ]
    assert not await Notification.exists().where(
        (Notification.user == yasmine.id) & (Notification.kind == "help_match")
    )


async def test_new_annonce_in_a_forming_quartier_is_not_possible(make_client):
    _neighbourhood, (lucien,) = await neighbours(1, status="forming")
    client = await signed_in(make_client, lucien)
    response = await client.get("/posts/new?kind=give")
    assert response.status_code == 303 and response.headers["location"] == "/feed"
    assert (await client.get("/feed")).status_code == 200


async def test_event_kind_goes_to_the_event_form(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    response = await client.get("/posts/new?kind=event")
    assert response.status_code == 303 and response.headers["location"] == "/events/new"


async def test_search_index_follows_edits_and_deletions(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    post_id = await make_post(claire, title="Poussette")
    await queries.update_post(post_id, title="Landau", body="Très bon état", details={})
    assert [p["id"] for p in (await queries.search_page(neighbourhood.id, claire.id, "landau"))[0]] == [post_id]
    assert (await queries.search_page(neighbourhood.id, claire.id, "poussette"))[0] == []
    await queries.delete_post(post_id)
    assert (await queries.search_page(neighbourhood.id, claire.id, "landau"))[0] == []
