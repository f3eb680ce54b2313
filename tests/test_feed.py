"""The neighbourhood feed: newest first, pinned on top, chips, search, pages."""

from __future__ import annotations

import re

from app.accounts.tables import Block
from app.posts import queries as posts
from app.posts.tables import Post
from tests.factories_posts import make_post, neighbours, signed_in


def _titles(html: str) -> list[str]:
    """The titles as read, search highlights (<mark>) left out."""
    return [re.sub(r"</?mark>", "", t) for t in re.findall(r'<h3><a href="/posts/\d+">(.+?)</a></h3>', html)]


async def test_feed_shows_the_quartier_newest_first_with_pinned_on_top(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    await make_post(claire, title="Vieux vélo à donner")
    pinned = await make_post(paul, title="Règles du quartier", kind="discussion")
    await make_post(paul, title="Perceuse à prêter", kind="lend", details={"loan_days": 7})
    await Post.update({Post.pinned: True}).where(Post.id == pinned)
    client = await signed_in(make_client, claire)
    page = await client.get("/feed")
    assert page.status_code == 200
    assert _titles(page.text) == ["Règles du quartier", "Perceuse à prêter", "Vieux vélo à donner"]
    assert neighbourhood.name in page.text and "2 voisins" in page.text


async def test_chips_filter_by_kind(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Table à donner", kind="give")
    await make_post(claire, title="Qui a une échelle ?", kind="borrow")
    client = await signed_in(make_client, claire)
    page = await client.get("/feed?kind=borrow")
    assert _titles(page.text) == ["Qui a une échelle ?"]
    assert 'aria-current="page">Emprunts' in page.text


async def test_search_ignores_accents_and_finds_word_beginnings(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Vélo enfant", body="Un vélo rouge, roues de 16 pouces.")
    await make_post(claire, title="Perceuse", body="Avec sa mallette.")
    client = await signed_in(make_client, claire)
    page = await client.get("/feed", params={"q": "velo"})
    assert _titles(page.text) == ["Vélo enfant"]
    page = await client.get("/feed", params={"q": "mall"})
    assert _titles(page.text) == ["Perceuse"]
    nothing = await client.get("/feed", params={"q": '"); DROP TABLE post; --'})
    assert nothing.status_code == 200 and "Aucune annonce" in nothing.text


async def test_search_stays_inside_the_quartier(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    _other, (stranger,) = await neighbours(1)
    await make_post(stranger, title="Trottinette secrète")
    client = await signed_in(make_client, claire)
    page = await client.get("/feed", params={"q": "trottinette"})
    assert _titles(page.text) == []


async def test_more_posts_come_page_by_page_with_a_plain_link_and_with_htmx(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    for i in range(25):
        await make_post(claire, title=f"Annonce numéro {i:02d}")
    client = await signed_in(make_client, claire)
    first = await client.get("/feed")
    titles = _titles(first.text)
    assert len(titles) == 20 and titles[0] == "Annonce numéro 24"
    more = re.search(r'<a href="(/feed\?before=\d+)"', first.text).group(1)
    assert "Plus d&#39;annonces" in first.text or "Plus d'annonces" in first.text
    assert 'hx-trigger="revealed"' in first.text
    # Without JavaScript: the link is a whole page.
    second = await client.get(more)
    assert _titles(second.text) == [f"Annonce numéro {i:02d}" for i in range(4, -1, -1)]
    assert "<html" in second.text
    # With htmx: only the next slice, one root element, to put in place of the link.
    fragment = await client.get(more, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div class="feed-page">') and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


async def test_a_page_costs_the_same_number_of_queries_whatever_it_holds(make_client, database):
    _neighbourhood, people = await neighbours(3)
    client = await signed_in(make_client, people[0])
    for i in range(2):
        await make_post(people[i % 3], title=f"Petit {i}")
    small = await _count_queries(database, client.get("/feed"))
    for i in range(30):
        await make_post(people[i % 3], title=f"Grand {i}")
    large = await _count_queries(database, client.get("/feed"))
    assert small == large


async def _count_queries(engine, awaitable) -> int:
    from app.alerts import queries as alerts
    from app.neighbourhoods import queries as neighbourhoods

    # What each process keeps for a few seconds is read again, as on a cold page.
    neighbourhoods._recent.clear()
    alerts._showing.clear()
    seen = []
    cls = type(engine)
    original = cls.run_querystring

    async def counting(self, querystring, *args, **kwargs):
        seen.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    cls.run_querystring = counting
    try:
        response = await awaitable
        assert response.status_code == 200
    finally:
        cls.run_querystring = original
    assert not any("OFFSET" in q.upper() for q in seen)
    return len(seen)


async def test_hidden_posts_are_seen_only_by_their_author(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    hidden = await make_post(claire, title="Annonce litigieuse")
    await Post.update({Post.status: "hidden", Post.hidden_reason: "Hors sujet"}).where(Post.id == hidden)
    paul_client = await signed_in(make_client, paul)
    assert "Annonce litigieuse" not in (await paul_client.get("/feed")).text
    assert (await paul_client.get(f"/posts/{hidden}")).status_code == 404
    claire_client = await signed_in(make_client, claire)
    page = await claire_client.get(f"/posts/{hidden}")
    assert page.status_code == 200 and "Hors sujet" in page.text


async def test_blocked_neighbours_disappear_from_the_feed(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await make_post(paul, title="Annonce de Paul")
    await Block.insert(Block(blocker=claire.id, blocked=paul.id))
    client = await signed_in(make_client, claire)
    assert "Annonce de Paul" not in (await client.get("/feed")).text


async def test_a_card_shows_what_changed_since_it_was_last_shown(make_client):
    """Cards are kept rendered between pages: a reply, an edit, a new status
    or another reader's language still show at once."""
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul, title="Perceuse à prêter", kind="lend", details={"loan_days": 7})
    client = await signed_in(make_client, claire)
    assert "réponse" not in (await client.get("/feed")).text

    await posts.add_reply(post_id, claire.id, "Je veux bien, merci !")
    assert "1 réponse" in (await client.get("/feed")).text

    await Post.update({Post.title: "Perceuse et forets à prêter", Post.status: "lent"}).where(Post.id == post_id)
    page = (await client.get("/feed")).text
    assert "Perceuse et forets à prêter" in _titles(page) and "Prêté" in page

    english = (await client.get("/feed", headers={"Accept-Language": "en"})).text
    assert "1 reply" in english


def test_every_value_a_card_shows_is_part_of_its_key():
    from pathlib import Path

    from app.posts.view import CARD_FIELDS

    templates = Path(__file__).resolve().parent.parent / "templates"
    shown = set()
    for name in ("posts/_post_item.html", "events/_feed_line.html"):
        shown |= set(re.findall(r"\bpost\.([a-z_]+)", (templates / name).read_text()))
    assert shown - {"isoformat"} <= set(CARD_FIELDS)
