"""Raw SQL read through app.db.rows gives the values Piccolo's select gives,
on both engines, even those SQLite computes (it types only plain columns)."""

from __future__ import annotations

from datetime import datetime

from piccolo.columns import Boolean

from app.db.rows import rows
from app.posts.tables import Post
from tests.factories_posts import make_post, neighbours


async def test_a_computed_date_and_a_computed_yes_or_no_come_back_as_python_values(database):
    _neighbourhood, (claire,) = await neighbours(1)
    first = await make_post(claire, title="Perceuse à donner")
    await make_post(claire, title="Escabeau à prêter", details={"until": "2026-12-24"})
    found = await rows(
        Post.raw(
            "SELECT MAX(created_at) AS created_at, (MIN(id) = {}) AS first_is_oldest, COUNT(*) AS n "
            "FROM post WHERE author = {}",
            first,
            claire.id,
        ),
        types={"first_is_oldest": Boolean()},
    )
    assert isinstance(found[0]["created_at"], datetime) and found[0]["created_at"].tzinfo is not None
    assert found[0]["first_is_oldest"] is True and found[0]["n"] == 2
    # JSON is decoded when asked, as Piccolo's output(load_json=True) does.
    details = await rows(Post.raw("SELECT details FROM post WHERE author = {} ORDER BY id", claire.id), load_json=True)
    assert [d["details"] for d in details] == [{}, {"until": "2026-12-24"}]
