"""Searching the feed in French: plurals, accents, ranking and highlights."""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from app.settings import ROOT, get_settings
from tests.factories_posts import make_post, neighbours, signed_in


def _titles(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"</?mark>", "", t)) for t in re.findall(r'<h3><a href="/posts/\d+">(.+?)</a></h3>', page)
    ]


def _marked(page: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", page)


async def _search(client, q: str, **params):
    page = await client.get("/feed", params={"q": q, **params})
    assert page.status_code == 200
    return page


async def test_plurals_accents_and_a_stray_cedilla_find_the_same_posts(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Perceuses à prêter", body="Deux, avec leurs mèches.")
    await make_post(claire, title="Perceuse Bosch", body="Presque neuve.")
    await make_post(claire, title="Caisse à outils", body="Il y a aussi une perceuse dedans.")
    await make_post(claire, title="Tondeuse", body="Pour la pelouse.")
    client = await signed_in(make_client, claire)
    found = {
        q: sorted(_titles((await _search(client, q)).text)) for q in ("perceuses", "Perçeuse", "perceuse", "PERCEUSE")
    }
    assert found["perceuse"] == ["Caisse à outils", "Perceuse Bosch", "Perceuses à prêter"]
    assert all(titles == found["perceuse"] for titles in found.values())
    # "prêter", "preter", "prête": one verb.
    assert _titles((await _search(client, "preter")).text) == ["Perceuses à prêter"]
    assert _titles((await _search(client, "prête")).text) == ["Perceuses à prêter"]


async def test_small_words_of_the_query_are_not_required(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Vélo enfant", body="Roues de 16 pouces.")
    client = await signed_in(make_client, claire)
    assert _titles((await _search(client, "un vélo pour enfants")).text) == ["Vélo enfant"]


async def test_title_matches_come_before_body_matches_and_recent_before_old(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    await make_post(claire, title="Échelle de 3 mètres", body="À prêter le week-end.")
    await make_post(paul, title="Coup de main pour un déménagement", body="Il faudrait une échelle.")
    await make_post(paul, title="Grande échelle en alu", body="Je la donne.")
    await make_post(claire, title="Peinture du plafond", body="Qui a des échelles ?")
    client = await signed_in(make_client, claire)
    assert _titles((await _search(client, "echelle")).text) == [
        "Grande échelle en alu",
        "Échelle de 3 mètres",  # title matches, newest first
        "Peinture du plafond",
        "Coup de main pour un déménagement",  # then body matches, newest first
    ]


async def test_ranked_results_go_page_by_page_from_titles_to_bodies(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    for i in range(15):
        await make_post(claire, title=f"Confiture maison {i:02d}", body="Abricots du jardin.")
        if i % 3 == 0:
            await make_post(claire, title=f"Goûter {i:02d}", body="Il reste de la confiture.")
    for i in range(15, 20):
        await make_post(claire, title=f"Marché {i:02d}", body="Confitures et miel.")
    client = await signed_in(make_client, claire)
    first = await _search(client, "confitures")
    titles = _titles(first.text)
    assert titles[:15] == [f"Confiture maison {i:02d}" for i in range(14, -1, -1)]
    assert titles[15:] == [f"Marché {i:02d}" for i in range(19, 14, -1)]
    more = html.unescape(re.search(r'<a href="(/feed\?[^"]+)" hx-get', first.text).group(1))
    assert "tier=2" in more
    second = await client.get(more)
    assert _titles(second.text) == [f"Goûter {i:02d}" for i in (12, 9, 6, 3, 0)]
    assert "Plus d&#39;annonces" not in second.text and "Plus d'annonces" not in second.text


async def test_the_query_words_are_marked_in_titles_and_bodies(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    long_body = "Bonjour à toutes et à tous. " * 20 + "Je cherche une mallette pour ranger ma perceuse."
    await make_post(claire, title="Rangement", body=long_body)
    await make_post(claire, title="Perceuse sans fil", body="Vendue avec sa mallette.")
    client = await signed_in(make_client, claire)
    page = await _search(client, "Perceuses mall")
    assert _titles(page.text) == ["Perceuse sans fil", "Rangement"]
    assert _marked(page.text) == ["Perceuse", "mallette", "mallette", "perceuse"]
    # The long body is shown around its match, not from its first words.
    excerpt = re.findall(r'<p class="excerpt">(.*?)</p>', page.text, re.S)[1]
    assert excerpt.startswith("… ") and "<mark>mallette</mark> pour ranger ma <mark>perceuse</mark>" in excerpt


async def test_a_post_cannot_inject_markup_through_its_highlight(make_client):
    _neighbourhood, (mallory, claire) = await neighbours(2)
    await make_post(
        mallory,
        title="<script>alert('perceuse')</script> Perceuse <mark>offerte</mark>",
        body='<img src=x onerror="alert(1)"> perceuse <b>gratuite</b>',
    )
    client = await signed_in(make_client, claire)
    page = await _search(client, "perceuse offerte")
    assert _titles(page.text) == ["<script>alert('perceuse')</script> Perceuse <mark>offerte</mark>"]
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>gratuite" not in page.text
    assert "&lt;script&gt;alert(&#39;<mark>perceuse</mark>&#39;)&lt;/script&gt;" in page.text
    assert "&lt;mark&gt;<mark>offerte</mark>&lt;/mark&gt;" in page.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; <mark>perceuse</mark> &lt;b&gt;gratuite&lt;/b&gt;" in page.text


@pytest.mark.skipif(
    get_settings().is_postgres, reason="PostgreSQL stems in its own index expression; nothing to re-index"
)
def test_posts_written_before_the_upgrade_are_found_by_their_french_stems(tmp_path):
    """A site at the previous migration, with posts indexed word for word, is upgraded."""
    env = {**os.environ, "VOISINAGE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    before = (
        "import asyncio\n"
        "from piccolo.apps.migrations.commands.forwards import run_forwards\n"
        "from app.piccolo_conf import DB\n"
        "async def main():\n"
        "    await DB.start_connection_pool()\n"
        "    await run_forwards(app_name='voisinage', migration_id='2026-11-23T14:40:00:000000')\n"
        "    await DB.close_connection_pool()\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", before], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    old = sqlite3.connect(tmp_path / "voisinage.sqlite3")
    with old:
        old.execute(
            "INSERT INTO neighbourhood (slug, name, city, postcode, boundary, min_lat, max_lat, min_lon, max_lon, "
            "centre_lat, centre_lon, status, requires_verification, member_count, created_at) "
            "VALUES ('ici', 'Ici', 'Ville', '00000', '{}', 0, 1, 0, 1, 0.5, 0.5, 'open', 0, 0, '2026-01-01')"
        )
        old.execute(
            "INSERT INTO post (neighbourhood, kind, title, body, status, details, pinned, locked, hidden_reason, "
            "reply_count, photo_count, cover, cover_width, cover_height, created_at, updated_at) "
            "VALUES (1, 'give', 'Perceuses à donner', 'Avec leurs mèches.', 'open', '{}', 0, 0, '', 0, 0, '', 0, 0, "
            "'2026-01-01', '2026-01-01')"
        )
    assert old.execute("SELECT title FROM post_fts").fetchall() == [("Perceuses à donner",)]
    old.close()

    upgraded = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    new = sqlite3.connect(tmp_path / "voisinage.sqlite3")
    assert new.execute("SELECT title, body FROM post_fts").fetchall() == [("perceux a don", "avec leur mech")]
    assert new.execute("SELECT rowid FROM post_fts WHERE post_fts MATCH 'title : \"perceux\"*'").fetchall() == [(1,)]
    # The R*Tree of neighbourhoods was filled from the existing rows too.
    assert new.execute("SELECT id FROM neighbourhood_rtree WHERE min_lon <= 0.5 AND max_lon >= 0.5").fetchall() == [
        (1,)
    ]
