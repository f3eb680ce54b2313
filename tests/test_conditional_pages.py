"""A phone that already has a page gets « nothing changed » instead of the
page again: feed and post pages carry an ETag, a repeated request with
If-None-Match answers 304 without a body until something on the page changes.
Private pages stay out of every cache."""

from __future__ import annotations

from tests.factories import post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def _again(client, url: str, etag: str):
    return await client.get(url, headers={"If-None-Match": etag})


async def test_the_feed_asked_again_unchanged_is_304_without_a_body(make_client):
    _hood, (claire, paul) = await neighbours(2)
    await make_post(paul, title="Perceuse à prêter", kind="lend", details={"loan_days": 7})
    client = await signed_in(make_client, claire)
    first = await client.get("/feed")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]

    again = await _again(client, "/feed", etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    await make_post(paul, title="Table à donner", kind="give")
    changed = await _again(client, "/feed", etag)
    assert changed.status_code == 200
    assert "Table à donner" in changed.text
    assert changed.headers["etag"] != etag


async def test_a_post_page_changes_its_etag_when_a_neighbour_replies(make_client):
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Qui a une échelle ?", kind="borrow")
    reader = await signed_in(make_client, claire)
    first = await reader.get(f"/posts/{post_id}")
    assert (await _again(reader, f"/posts/{post_id}", first.headers["etag"])).status_code == 304

    replier = await signed_in(make_client, paul)
    assert (
        await post_form(replier, f"/posts/{post_id}/replies", {"body": "J'en ai une, je passe ce soir."})
    ).status_code in (
        200,
        303,
    )
    after = await _again(reader, f"/posts/{post_id}", first.headers["etag"])
    assert after.status_code == 200
    assert "je passe ce soir" in after.text


async def test_the_same_page_in_another_language_is_another_version(make_client):
    _hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    french = await client.get("/feed", headers={"Accept-Language": "fr"})
    english = await client.get("/feed", headers={"Accept-Language": "en", "If-None-Match": french.headers["etag"]})
    assert english.status_code == 200
    assert english.headers["etag"] != french.headers["etag"]


async def test_private_pages_are_kept_nowhere(make_client):
    _hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    for url in ("/settings", "/messages"):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert page.headers["cache-control"] == "private, no-store", url
        assert "etag" not in page.headers, url
