"""The neighbourhood feed: newest first, pinned on top, chips, search, pages."""

from __future__ import annotations

import re

from app.accounts.tables import Block
from app.posts import queries as posts
from app.posts.tables import Post
from tests.factories import csrf, make_user, post_form
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
    from app.neighbourhoods import newcomers
    from app.neighbourhoods import queries as neighbourhoods

    # What each process keeps for a few seconds is read again, as on a cold page.
    neighbourhoods.recent.clear()
    alerts._showing.clear()
    newcomers._arrivals.clear()
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


def _save_form(page: str, post_id: int) -> str:
    found = re.search(rf'<form class="save-post"[^>]*action="/posts/{post_id}/save".*?</form>', page, re.S)
    assert found, f"no save button for post {post_id}"
    return found.group(0)


def _form_tokens(page: str) -> set[str]:
    return set(re.findall(r'name="_csrf_token" value="([^"]*)"', page))


async def test_neighbours_share_the_kept_feed_yet_each_sees_their_own_saves_and_form_token(make_client):
    """The feed of a quartier is rendered once for all who see the same
    (app.templating.kept_fragment): what is one reader's stays theirs."""
    _hood, (claire, paul) = await neighbours(2)
    ladder = await make_post(paul, title="Échelle à prêter")
    mower = await make_post(paul, title="Tondeuse à donner")
    claire_client = await signed_in(make_client, claire)
    paul_client = await signed_in(make_client, paul)
    assert (await post_form(claire_client, f"/posts/{ladder}/save", {"saved": "1"})).status_code == 303

    for _ in range(2):  # rendered, then served from memory
        claire_page = (await claire_client.get("/feed")).text
        paul_page = (await paul_client.get("/feed")).text
        assert "Enregistré<" in _save_form(claire_page, ladder)
        assert "Enregistrer<" in _save_form(paul_page, ladder)
        assert "Enregistrer<" in _save_form(claire_page, mower)
        # Every form of a page carries its own reader's token, and only it.
        assert _form_tokens(claire_page) == {csrf(claire_client)}
        assert _form_tokens(paul_page) == {csrf(paul_client)}
        assert csrf(claire_client) not in paul_page

    # A neighbour's answer shows on the card at once, not when the page ages out.
    await post_form(claire_client, f"/posts/{mower}/replies", {"body": "Je la prends volontiers !"})
    assert re.search(r"1 réponse", (await paul_client.get("/feed")).text)
    # So does a saved post taken back.
    await post_form(claire_client, f"/posts/{ladder}/save", {"saved": "0"})
    assert "Enregistrer<" in _save_form((await claire_client.get("/feed")).text, ladder)


async def test_a_newcomer_placed_by_the_address_check_is_welcomed_at_once(make_client):
    """The arrivals are kept a few seconds per process; one this process
    places shows on the next feed of a neighbour already reading it."""
    from app.neighbourhoods import queries as neighbourhoods

    hood, (claire,) = await neighbours(1)
    claire_client = await signed_in(make_client, claire)
    assert 'class="newcomers"' not in (await claire_client.get("/feed")).text
    hugo = await make_user(None, first_name="Hugo", last_name="Nouveau")
    await neighbourhoods._move_member(hugo.id, None, hood.id, ("1 rue du Test", 47.32, 5.04))
    page = (await claire_client.get("/feed")).text
    assert 'class="newcomers"' in page and "Hugo N." in page


async def test_a_feed_page_reads_the_thanks_and_saves_of_its_own_cards_only_however_many_the_town_has(database):
    """Claire's quartier has 20,000 posts, half of them thanked, thousands saved
    by Paul and a few dozen by her: her first page must still read thanks and
    her saves by index, never the whole table (PostgreSQL used to hash every
    thanks of the town for every page: 100 ms at 130,000)."""
    neighbourhood, (claire, paul) = await neighbours(2)
    postgres = database.engine_type == "postgres"
    numbers = (
        "generate_series(1, 20000) AS n(n)"
        if postgres
        else "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) SELECT n FROM c) AS n"
    )
    try:
        await Post.raw(
            "INSERT INTO post (neighbourhood, author, kind, title, body, status) "
            f"SELECT {{}}, {{}}, 'give', 'Objet ' || n, 'En bon état', 'open' FROM {numbers}",
            neighbourhood.id,
            paul.id,
        )
        newest = (await Post.raw("SELECT MAX(id) AS id FROM post WHERE neighbourhood = {}", neighbourhood.id))[0]["id"]
        await Post.raw(
            "INSERT INTO thanks (post, giver, helper) SELECT id, {}, {} FROM post WHERE neighbourhood = {} AND id % 2 = 0",
            claire.id,
            paul.id,
            neighbourhood.id,
        )
        saves = 'INSERT INTO saved_post ("user", post) SELECT {}, id FROM post WHERE neighbourhood = {} AND id % {} = 0'
        await Post.raw(saves, paul.id, neighbourhood.id, 7)
        await Post.raw(saves + " AND id > {}", claire.id, neighbourhood.id, 5, newest - 150)
        await Post.raw("ANALYZE")
        statement = posts.first_page_query(neighbourhood.id, claire.id, [], posts.PAGE)
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = "\n".join(
            str(row.get("QUERY PLAN", row.get("detail")))
            for row in await Post.raw(explain + statement.template, *statement.args)
        )
        for table, alias in (("thanks", "t"), ("saved_post", "sp")):
            assert not re.search(rf"Seq Scan on {table}\b|SCAN {alias}\b", plan), plan
            assert re.search(rf"\b{table}_\w*idx\b", plan), plan
        _pinned, page, cursor = await posts.first_page(neighbourhood.id, claire.id)
        assert len(page) == posts.PAGE and cursor is not None
        assert [p["saved"] for p in page] == [p["id"] % 5 == 0 for p in page]
        assert [p["has_thanks"] for p in page] == [p["id"] % 2 == 0 for p in page]
    finally:
        await Post.delete().where(Post.neighbourhood == neighbourhood.id)
