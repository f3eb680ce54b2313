"""Selling: a price in euros or « Prix libre », kept in cents, written in
the reader's language, a chip to find sales, and their statuses."""

from __future__ import annotations

import pytest

from app.posts import queries
from app.posts.tables import Post
from tests.factories import field_error, input_value, post_form
from tests.factories_posts import make_post, neighbours, publish, signed_in


def _id(response) -> int:
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_a_neighbour_sells_a_bike_and_others_find_it_by_the_chip_in_french_and_english(make_client):
    _hood, (claire, paul) = await neighbours(2)
    seller = await signed_in(make_client, claire)
    form = await seller.get("/posts/new?kind=sale")
    assert "Prix en euros" in form.text and "Prix libre" in form.text
    done = await publish(
        seller, {"kind": "sale", "title": "Vélo enfant 16 pouces", "body": "Bon état.", "price": "15,50"}
    )
    assert done.status_code == 303
    bike = _id(done)
    assert (await Post.select(Post.price_cents).where(Post.id == bike).first())["price_cents"] == 1550
    await make_post(claire, kind="give", title="Cartons de déménagement")
    buyer = await signed_in(make_client, paul)
    sales = await buyer.get("/feed?kind=sale")
    assert "Vélo enfant 16 pouces" in sales.text and "Cartons de déménagement" not in sales.text
    assert "15,50\xa0€" in sales.text and "À vendre" in sales.text
    page = await buyer.get(f"/posts/{bike}")
    assert "15,50\xa0€" in page.text
    english = await buyer.get("/feed?kind=sale", headers={"Accept-Language": "en"})
    assert "€15.50" in english.text and "For sale" in english.text


async def test_whole_euros_show_without_decimals_and_a_free_price_says_the_buyer_proposes(make_client):
    _hood, (claire, paul) = await neighbours(2)
    seller = await signed_in(make_client, claire)
    table = _id(await publish(seller, {"kind": "sale", "title": "Table basse", "body": "Chêne.", "price": "15 €"}))
    lamp = _id(
        await publish(seller, {"kind": "sale", "title": "Lampe", "body": "Marche.", "price": "", "price_free": "1"})
    )
    stored = {
        r["id"]: r["price_cents"]
        for r in await Post.select(Post.id, Post.price_cents).where(Post.id.is_in([table, lamp]))
    }
    assert stored == {table: 1500, lamp: None}
    buyer = await signed_in(make_client, paul)
    french = (await buyer.get("/feed?kind=sale")).text
    assert "15\xa0€" in french and "15,00" not in french and "Prix libre" in french
    english = (await buyer.get(f"/posts/{table}", headers={"Accept-Language": "en"})).text
    assert "€15" in english and "€15.00" not in english
    assert "Free price" in (await buyer.get(f"/posts/{lamp}", headers={"Accept-Language": "en"})).text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("quinze", "Indiquez un prix en euros, par exemple 15 ou 12,50."),
        ("-5", "Le prix ne peut pas être négatif."),
        ("100000,01", "100 000 € au plus."),
        ("12,505", "Deux chiffres après la virgule au plus (les centimes)."),
        ("", "Indiquez un prix, ou cochez « Prix libre »."),
    ],
)
async def test_a_bad_price_is_refused_next_to_the_field_with_what_was_typed_kept(make_client, typed, message):
    _hood, (claire,) = await neighbours(1)
    seller = await signed_in(make_client, claire)
    refused = await publish(
        seller, {"kind": "sale", "title": "Canapé trois places", "body": "À venir chercher.", "price": typed}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "price") == message
    assert input_value(refused.text, "price") == typed
    assert input_value(refused.text, "title") == "Canapé trois places"
    assert await Post.count().where(Post.title == "Canapé trois places") == 0


async def test_the_price_is_checked_as_soon_as_the_field_is_left(make_client):
    _hood, (claire,) = await neighbours(1)
    seller = await signed_in(make_client, claire)
    checked = await seller.get("/posts/validate", params={"field": "price", "kind": "sale", "price": "12,5,0"})
    assert checked.status_code == 200 and "Indiquez un prix en euros" in checked.text
    fine = await seller.get("/posts/validate", params={"field": "price", "kind": "sale", "price": "12.5"})
    assert "Indiquez" not in fine.text


async def test_editing_a_sale_keeps_its_price_and_the_seller_marks_it_reserved_then_sold(make_client):
    _hood, (claire, paul) = await neighbours(2)
    seller = await signed_in(make_client, claire)
    sofa = _id(await publish(seller, {"kind": "sale", "title": "Canapé", "body": "Gris.", "price": "120"}))
    edit_form = await seller.get(f"/posts/{sofa}/edit")
    assert input_value(edit_form.text, "price") == "120"
    saved = await post_form(
        seller,
        f"/posts/{sofa}/edit",
        {"title": "Canapé gris", "body": "Gris clair.", "price": input_value(edit_form.text, "price")},
    )
    assert saved.status_code == 303
    assert (await queries.post_by_id(sofa))["price_cents"] == 12000
    for status, label in (("reserved", "Réservé"), ("done", "Vendu")):
        assert (await post_form(seller, f"/posts/{sofa}/status", {"status": status})).status_code == 303
        buyer_page = await (await signed_in(make_client, paul)).get(f"/posts/{sofa}")
        assert f"À vendre · {label}" in buyer_page.text
    english = await (await signed_in(make_client, paul)).get(f"/posts/{sofa}", headers={"Accept-Language": "en"})
    assert "For sale · Sold" in english.text
