"""Thanks: the author of a give, lend or help post marks who helped. The post
closes, says « Merci à Paul B. », and the helper's profile counts the
neighbours they helped.

One thanks per (post, helper) (unique index `thanks_once_idx`); the profile's
count reads the (helper, giver) index `thanks_helper_idx`, never the posts.
"""

from __future__ import annotations

from datetime import datetime, timezone

from app.accounts.tables import User
from app.db.rows import rows
from app.posts.kinds import THANKED_KINDS, display_name
from app.posts.tables import Post, Thanks

# Who the author may pick without typing a name: everyone who replied under
# the post, wrote to them about it, or borrowed it.
_INVOLVED = (
    "SELECT r.author AS id FROM reply r WHERE r.post = {post} AND r.author IS NOT NULL "
    "UNION SELECT CASE WHEN c.user_a = {author} THEN c.user_b ELSE c.user_a END FROM conversation c "
    "WHERE c.post = {post} AND (c.user_a = {author} OR c.user_b = {author}) "
    "UNION SELECT l.borrower FROM loan l WHERE l.post = {post} AND l.borrower IS NOT NULL"
)
# The values of _INVOLVED's placeholders, in the order they appear.
_INVOLVED_ORDER = ("post", "author", "post", "author", "author", "post")
CANDIDATES_SHOWN = 50


async def candidates(post: dict, blocked: list[int]) -> list[dict]:
    """The people involved in the post who still live in its quartier, the
    author and blocked people aside."""
    involved = _INVOLVED.format(post="{}", author="{}")
    sql = (
        "SELECT a.id, a.first_name, a.last_name FROM account a "
        f"WHERE a.neighbourhood = {{}} AND a.id <> {{}} AND a.id IN ({involved})"
    )
    values = {"post": post["id"], "author": post["author"]}
    args = [post["neighbourhood"], post["author"], *(values[name] for name in _INVOLVED_ORDER)]
    found = await rows(User.raw(sql, *args))
    found = [p for p in found if p["id"] not in blocked]
    found.sort(key=lambda p: (p["first_name"].lower(), p["last_name"].lower(), p["id"]))
    return found[:CANDIDATES_SHOWN]


async def neighbours_named(neighbourhood_id: int, name: str, exclude: int) -> list[dict]:
    """Members of the quartier whose name reads `name` ("Paul", "Paul B.",
    "Paul Bernard"), case aside: read by the (neighbourhood) index."""
    first, _, rest = " ".join(name.split()).partition(" ")
    if not first:
        return []
    found = await rows(
        User.raw(
            "SELECT id, first_name, last_name FROM account WHERE neighbourhood = {} AND id <> {} "
            # SQLite's lower() knows ASCII only: « élodie » finds « Élodie » by its usual spellings.
            "AND (lower(first_name) = lower({}) OR first_name IN ({}, {}, {})) LIMIT 200",
            neighbourhood_id,
            exclude,
            first,
            first.capitalize(),
            first.title(),
            first.upper(),
        )
    )
    rest = rest.rstrip(".").casefold()
    return [
        p
        for p in found
        if p["first_name"].casefold() == first.casefold() and (not rest or p["last_name"].casefold().startswith(rest))
    ]


async def thank(post: dict, giver_id: int, helper_ids: list[int]) -> list[int]:
    """Thanks each helper not thanked yet for this post and closes it; the
    ids newly thanked (whom to notify)."""
    helper_ids = list(dict.fromkeys(helper_ids))
    now = datetime.now(timezone.utc)
    async with Thanks._meta.db.transaction():
        # Sent twice at once, the same thanks is written once (thanks_once_idx),
        # and only the rows really written say whom to notify.
        written = await (
            Thanks.insert(*[Thanks(post=post["id"], giver=giver_id, helper=h, created_at=now) for h in helper_ids])
            .on_conflict(action="DO NOTHING")
            .returning(Thanks.helper)
        )
        new = [r["helper"] for r in written]
        closing = THANKED_KINDS[post["kind"]]
        # A lent object stays « Prêté » until it comes back: the loan says so.
        if post["status"] != "lent":
            await Post.update({Post.status: closing, Post.updated_at: now}).where(Post.id == post["id"])
    return new


async def thanked_on(post_ids: list[int]) -> dict[int, list[str]]:
    """The names each post thanks, for a page of posts in one query (by thanks_once_idx)."""
    if not post_ids:
        return {}
    found = await rows(
        Thanks.raw(
            "SELECT t.post, a.first_name, a.last_name FROM thanks t LEFT JOIN account a ON a.id = t.helper "
            f"WHERE t.post IN ({', '.join('{}' for _ in post_ids)}) ORDER BY t.id",
            *post_ids,
        )
    )
    names: dict[int, list[str]] = {}
    for row in found:
        names.setdefault(row["post"], []).append(display_name(row["first_name"], row["last_name"]))
    return names


async def helped_count(user_id: int) -> int:
    """How many different neighbours thanked this person. A thanks whose
    giver erased their account still counts, as one person."""
    found = await rows(
        Thanks.raw(
            "SELECT COUNT(DISTINCT COALESCE(giver, -id)) AS n FROM thanks WHERE helper = {}",
            user_id,
        )
    )
    return found[0]["n"] if found else 0


async def thanks_of(user_id: int) -> dict[str, list[dict]]:
    """For the RGPD export: the thanks this person gave and received."""
    given = await Thanks.select(Thanks.post, Thanks.helper, Thanks.created_at).where(Thanks.giver == user_id)
    received = await Thanks.select(Thanks.post, Thanks.giver, Thanks.created_at).where(Thanks.helper == user_id)
    return {"given": given, "received": received}
