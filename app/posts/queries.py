"""Named queries about posts, replies and loans.

Every list is a keyset page on the post id (creation order) read through a
(neighbourhood, id) index, so a page costs the same at 10,000 posts as at
1,000,000. Lists join the author's name in the same statement: no N+1.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from piccolo.query.methods.raw import Raw
from piccolo.querystring import QueryString

from app import live, search
from app.access import group_posts_clause, visible_posts_clause
from app.accounts.tables import User, UserSkill
from app.db.keyset import Keyset, keyset_page, split
from app.db.rows import rows
from app.events.tables import Event
from app.posts import blobs
from app.posts.tables import Photo, Post, Reply
from app.rides.tables import Ride

if TYPE_CHECKING:
    from app.posts.photos import EncodedPhoto

PAGE = 20
PARIS = ZoneInfo("Europe/Paris")
# Annonces that wait on their author (to give, lend, answer): they close when
# the author's account is deleted. Tips and discussions belong to the thread.
LISTING_KINDS = ("give", "lend", "borrow", "help_request", "help_offer", "lost_found", "sale", "ride")

# A list is read in two steps of one statement: the page is chosen from the
# post table alone (filter, order, limit: `_POST_COLUMNS`), then only its rows
# get their cards' other columns (`cards()`). Joined before the limit, the
# probes below were planned for every post of the quartier: PostgreSQL hashed
# the whole thanks table on each page (100 ms at 130,000 thanks), and planning
# the twelve-table join cost more than running it.
_POST_COLUMNS = (
    "p.id, p.kind, p.title, substr(p.body, 1, 220) AS excerpt, p.status, p.pinned, p.locked, p.reply_count, "
    "p.photo_count, p.cover, p.cover_width, p.cover_height, p.created_at, p.author, p.hidden_reason, "
    'p.neighbourhood, p.nearby, p."group", p.price_cents'
)
_CARD_COLUMNS = (
    "a.first_name AS author_first_name, a.last_name AS author_last_name, e.starts_at AS event_starts_at, "
    "e.place AS event_place, e.cancelled_at AS event_cancelled_at, e.repeat AS event_repeat, "
    "pl.voter_count AS poll_voters, "
    "r.origin AS ride_origin, r.destination AS ride_destination, r.departs_at AS ride_departs_at, "
    "r.returns_at AS ride_returns_at, r.seats AS ride_seats, r.seats_taken AS ride_seats_taken, "
    # One probe of thanks_once_idx per card: the names are read only for the few posts that have some.
    "EXISTS (SELECT 1 FROM thanks t WHERE t.post = p.id) AS has_thanks"
)
# A ride's trip and a discussion's poll (one row per post each, by their unique
# indexes) are joined like an event's: the card says where and how many voted.
_JOINS = (
    "LEFT JOIN account a ON a.id = p.author LEFT JOIN event e ON e.post = p.id LEFT JOIN ride r ON r.post = p.id "
    "LEFT JOIN poll pl ON pl.post = p.id"
)


def cards(page: QueryString, *, order: str = "p.id DESC", saved_by: int | None = None, more: str = "") -> QueryString:
    """The cards of the posts `page` chose: `page` selects `_POST_COLUMNS`
    (and whatever else its rows carry) from `post p`, with its WHERE, ORDER
    BY and LIMIT; the author, event, ride and poll are joined to those rows
    only, in `order`. `saved_by`: whether this reader saved each post
    (saved_post_once_idx); `more`: other columns of the joined tables."""
    columns = f"p.*, {_CARD_COLUMNS}{more}"
    args: list = []
    if saved_by is not None:
        columns += ', EXISTS (SELECT 1 FROM saved_post sp WHERE sp."user" = {} AND sp.post = p.id) AS saved'
        args.append(saved_by)
    return QueryString(f"SELECT {columns} FROM ({page.template}) AS p {_JOINS} ORDER BY {order}", *args, *page.args)


# The event's columns joined into a post's row, by their labels.
_LIST_TYPES = {
    "event_starts_at": Event.starts_at,
    "event_ends_at": Event.ends_at,
    "event_cancelled_at": Event.cancelled_at,
    "ride_departs_at": Ride.departs_at,
    "ride_returns_at": Ride.returns_at,
}
NEWEST_FIRST = Keyset("p.id", descending=True)
_SKILLED_NEIGHBOURS = Keyset('s."user"', keys=("id",))


def _engine_type() -> str:
    return Post._meta.db.engine_type


async def feed_page(
    neighbourhood_id: int,
    viewer_id: int,
    *,
    kind: str | None = None,
    before: int | None = None,
    blocked: list[int] | None = None,
    author: int | None = None,
    nearby: list[int] | None = None,
    limit: int = PAGE,
) -> tuple[list[dict], int | None]:
    """`nearby`: the quartiers voisins whose posts shown to them join the page."""
    if nearby:
        return await _widened_page(neighbourhood_id, viewer_id, nearby, kind, before, blocked or [], limit)
    args: list = [neighbourhood_id]
    sql = f"SELECT {_POST_COLUMNS} FROM post p WHERE p.neighbourhood = {{}}"
    if author:
        # A profile's open annonces, through the (author, created_at, id) index.
        sql += " AND p.author = {} AND p.status IN ('open', 'reserved', 'lent')"
        args.append(author)
    if kind:
        sql += " AND p.kind = {}"
        args.append(kind)
    sql += visible_posts_clause(viewer_id, blocked or [], args)
    return await card_page(QueryString(sql, *args), before, limit)


async def _read_cards(statement: QueryString, *, load_json: bool = False) -> list[dict]:
    """The rows of a `cards()` statement, with the Python values of its joined columns."""
    return await rows(Raw(Post, querystring=statement), types=_LIST_TYPES, load_json=load_json)


async def card_page(
    page: QueryString, before: int | None, limit: int, *, keyset: Keyset = NEWEST_FIRST, order: str = "p.id DESC"
) -> tuple[list[dict], int | None]:
    """One keyset page of the posts `page` selects (its SQL ending with its
    WHERE clause), as cards in `order`, and the next page's cursor."""
    found = await _read_cards(cards(keyset.sql(page, before or None, limit), order=order))
    return keyset.split(found, limit)


async def _widened_page(
    neighbourhood_id: int, viewer_id: int, nearby: list[int], kind: str | None, before, blocked: list[int], limit: int
) -> tuple[list[dict], int | None]:
    """The quartier's posts and those its quartiers voisins showed to it, each
    quartier read by its own index (post_nearby_idx for the voisins')."""
    parts = []
    for part_of, shown_to_nearby in ((neighbourhood_id, False), *((n, True) for n in nearby)):
        args: list = [part_of]
        sql = f"SELECT {_POST_COLUMNS} FROM post p WHERE p.neighbourhood = {{}}"
        if shown_to_nearby:
            sql += " AND p.nearby"
        if kind:
            sql += " AND p.kind = {}"
            args.append(kind)
        sql += visible_posts_clause(viewer_id, blocked, args)
        parts.append(QueryString(sql, *args))
    found = await _read_cards(cards(NEWEST_FIRST.union(parts, before or None, limit)))
    return NEWEST_FIRST.split(found, limit)


async def group_page(
    group_id: int, viewer_id: int, *, before: int | None = None, blocked: list[int] | None = None, limit: int = PAGE
) -> tuple[list[dict], int | None]:
    """A group's posts and events, newest first, by the (group, id) index."""
    args: list = [group_id]
    sql = f'SELECT {_POST_COLUMNS} FROM post p WHERE p."group" = {{}}' + group_posts_clause(
        viewer_id, blocked or [], args
    )
    return await card_page(QueryString(sql, *args), before, limit)


async def first_page(
    neighbourhood_id: int, viewer_id: int, blocked: list[int] | None = None, limit: int = PAGE
) -> tuple[list[dict], list[dict], int | None]:
    """The opening of the feed, pinned posts and the newest ones, in one
    statement: the page everybody loads first should cost one round trip."""
    found = await _read_cards(first_page_query(neighbourhood_id, viewer_id, blocked, limit))
    pinned = [r for r in found if r["part"] == 1]
    posts, next_cursor = NEWEST_FIRST.split([r for r in found if r["part"] == 2], limit)
    return pinned, posts, next_cursor


def first_page_query(neighbourhood_id: int, viewer_id: int, blocked: list[int] | None, limit: int) -> QueryString:
    """`first_page`'s statement: its parts tell pinned (1) from newest (2)."""
    pinned_args: list = [neighbourhood_id, True]
    pinned_sql = (
        f"SELECT 1 AS part, {_POST_COLUMNS} FROM post p WHERE p.neighbourhood = {{}} AND p.pinned = {{}}"
        + visible_posts_clause(viewer_id, blocked or [], pinned_args)
        + " ORDER BY p.id DESC LIMIT 5"
    )
    latest_args: list = [neighbourhood_id]
    latest_sql = f"SELECT 2 AS part, {_POST_COLUMNS} FROM post p WHERE p.neighbourhood = {{}}" + visible_posts_clause(
        viewer_id, blocked or [], latest_args
    )
    latest = NEWEST_FIRST.sql(QueryString(latest_sql, *latest_args), None, limit)
    page = QueryString(
        f"SELECT * FROM ({pinned_sql}) AS pinned_part UNION ALL SELECT * FROM ({latest.template}) AS latest_part",
        *pinned_args,
        *latest.args,
    )
    # Whether the reader saved each post rides in the same row (saved_post_once_idx):
    # the card's button needs it, and a query of its own cost as much as the probe.
    return cards(page, order="p.part, p.id DESC", saved_by=viewer_id)


# Title weight A, body weight B: the expression of post_search_weighted_idx.
_PG_VECTOR = (
    "(setweight(to_tsvector('french', voisinage_search_text(p.title)), 'A') || "
    "setweight(to_tsvector('french', voisinage_search_text(p.body)), 'B'))"
)
_PG_MATCH = f"{_PG_VECTOR} @@ to_tsquery('french', voisinage_search_text({{}}))"


def _search_part(tier: int, neighbourhood_id: int, q: str, args: list) -> str:
    """Posts whose title has every word of the query (tier 1), or whose text
    has them but not all in the title (tier 2)."""
    if _engine_type() == "sqlite":
        stems = search.query_stems(q)
        title, every = search.fts_match(stems, "title"), search.fts_match(stems)
        # The neighbourhood is a token of its own ("h42"), so a search intersects
        # the neighbourhood's posting list with the words' instead of filtering
        # every match in France afterwards.
        scope = f'scope:"h{neighbourhood_id}"'
        args += [f"{scope} AND {title}" if tier == 1 else f"{scope} AND ({every} NOT {title})", neighbourhood_id]
        return (
            f"SELECT {tier} AS tier, {_POST_COLUMNS}, p.body FROM post_fts JOIN post p ON p.id = post_fts.rowid "
            "WHERE post_fts MATCH {} AND p.neighbourhood = {}"
        )
    sql = f"SELECT {tier} AS tier, {_POST_COLUMNS}, p.body FROM post p WHERE p.neighbourhood = {{}} AND "
    args.append(neighbourhood_id)
    if tier == 1:
        args.append(search.tsquery(q, "A"))
        return sql + _PG_MATCH
    args += [search.tsquery(q), search.tsquery(q, "A")]
    return sql + f"{_PG_MATCH} AND NOT {_PG_MATCH}"


async def search_page(
    neighbourhood_id: int,
    viewer_id: int,
    q: str,
    *,
    before: int | None = None,
    tier: int = 1,
    blocked: list[int] | None = None,
    limit: int = PAGE,
) -> tuple[list[dict], tuple[int, int] | None]:
    """Title matches first, then body matches, each newest first: a ranking
    that keyset pages can follow, the cursor being (tier, id)."""
    if not search.query_words(q):
        return [], None
    tiers = (1, 2) if tier == 1 else (2,)
    parts = []
    for part in tiers:
        args: list = []
        sql = _search_part(part, neighbourhood_id, q, args) + visible_posts_clause(viewer_id, blocked or [], args)
        parts.append(NEWEST_FIRST.sql(QueryString(sql, *args), (before or None) if part == tier else None, limit))
    union = " UNION ALL ".join(f"SELECT * FROM ({{}}) AS tier_{part}" for part in tiers)
    found = await _read_cards(cards(QueryString(union, *parts), order="p.tier, p.id DESC"))
    return split(found, limit, ("tier", "id"))


async def post_by_id(post_id: int) -> dict | None:
    found = await _read_cards(
        cards(
            QueryString(
                f"SELECT {_POST_COLUMNS}, p.body, p.details, p.updated_at FROM post p WHERE p.id = {{}}", post_id
            ),
            more=", e.ends_at AS event_ends_at",
        ),
        load_json=True,
    )
    return found[0] if found else None


async def photos_of(post_id: int) -> list[dict]:
    return await Photo.select().where(Photo.post == post_id).order_by(Photo.position)


async def create_post(
    *,
    author: User,
    kind: str,
    title: str,
    body: str,
    details: dict,
    photos: list[EncodedPhoto],
    nearby: bool = False,
    price_cents: int | None = None,
    group: dict | None = None,
) -> int:
    """The post with its photos' rows and images, in one transaction: nothing half-saved."""
    now = datetime.now(timezone.utc)
    async with Post._meta.db.transaction():
        cover = photos[0] if photos else None
        rows = await Post.insert(
            Post(
                # A group's post belongs to the group's quartier (its moderators), whoever writes it.
                neighbourhood=group["neighbourhood"] if group else author.neighbourhood,
                group=group["id"] if group else None,
                author=author.id,
                kind=kind,
                title=title,
                body=body,
                details=details,
                nearby=nearby,
                price_cents=price_cents,
                photo_count=len(photos),
                cover=cover.name if cover else "",
                cover_width=cover.thumb_width if cover else 0,
                cover_height=cover.thumb_height if cover else 0,
                created_at=now,
                updated_at=now,
            )
        )
        post_id = rows[0]["id"]
        if photos:
            await blobs.save(photos)
            await Photo.insert(
                *[
                    Photo(
                        post=post_id,
                        owner=author.id,
                        name=p.name,
                        large=p.large.hash,
                        thumb=p.thumb.hash,
                        small=p.small.hash,
                        width=p.width,
                        height=p.height,
                        thumb_width=p.thumb_width,
                        thumb_height=p.thumb_height,
                        position=i,
                    )
                    for i, p in enumerate(photos)
                ]
            )
    return post_id


async def update_post(
    post_id: int, *, title: str, body: str, details: dict, nearby: bool = False, price_cents: int | None = None
) -> None:
    await Post.update(
        {
            Post.title: title,
            Post.body: body,
            Post.details: details,
            Post.nearby: nearby,
            Post.price_cents: price_cents,
            Post.updated_at: datetime.now(timezone.utc),
        }
    ).where(Post.id == post_id)


async def delete_post(post_id: int) -> None:
    """Deletes the post with its replies, photos and loans, and the images
    that no other post shows (`posts.removal` tells who counted on it)."""
    async with Post._meta.db.transaction():
        images = await blobs.shown_by(Photo.post == post_id)
        await Post.delete().where(Post.id == post_id)
        await blobs.let_go(images)


async def set_status(post_id: int, status: str) -> None:
    await Post.update({Post.status: status, Post.updated_at: datetime.now(timezone.utc)}).where(Post.id == post_id)


# Replies ------------------------------------------------------------------------


_THREAD_ORDER = Keyset("r.id")


def live_topic(post_id: int) -> str:
    """What app.live calls the news of one post's thread."""
    return f"post:{post_id}"


def _thread_where(post_id: int, blocked: list[int] | None, args: list) -> str:
    """A thread's replies, none from the blocked (read through the (post, id) index)."""
    args.append(post_id)
    where = " WHERE r.post = {}"
    if blocked:
        where += f" AND (r.author IS NULL OR r.author NOT IN ({', '.join('{}' for _ in blocked)}))"
        args += blocked
    return where


async def replies_of(
    post_id: int, blocked: list[int] | None = None, limit: int = 200, *, after: int | None = None
) -> list[dict]:
    """The thread in order; `after` a reply id: only what came after it (an open page's news)."""
    args: list = []
    sql = (
        "SELECT r.id, r.body, r.hidden, r.hidden_reason, r.created_at, r.author, "
        "a.first_name AS author_first_name, a.last_name AS author_last_name, a.neighbourhood AS author_neighbourhood, "
        "pp.name AS author_photo FROM reply r LEFT JOIN account a ON a.id = r.author "
        # The author's profile photo, by the unique index on its user (app.neighbours.profile_photos).
        'LEFT JOIN profile_photo pp ON pp."user" = r.author' + _thread_where(post_id, blocked, args)
    )
    page, _later = await keyset_page(Reply.raw(sql, *args), _THREAD_ORDER, cursor=after, size=limit)
    return page


async def count_replies(post_id: int, blocked: list[int] | None = None) -> int:
    args: list = []
    found = await Reply.raw("SELECT count(*) AS n FROM reply r" + _thread_where(post_id, blocked, args), *args)
    return int(found[0]["n"])


async def add_reply(post_id: int, author_id: int, body: str) -> tuple[int, list[int]]:
    """Saves the reply; returns its id and the earlier repliers (to notify)."""
    async with live.announcing(Reply._meta.db) as announce:
        earlier = (
            await Reply.select(Reply.author).where((Reply.post == post_id) & Reply.author.is_not_null()).distinct()
        )
        rows = await Reply.insert(
            Reply(post=post_id, author=author_id, body=body, created_at=datetime.now(timezone.utc))
        )
        await Post.update({Post.reply_count: Post.reply_count + 1}).where(Post.id == post_id)
        announce(live_topic(post_id), rows[0]["id"])
    return rows[0]["id"], sorted({r["author"] for r in earlier})


async def participants(post_id: int) -> list[int]:
    """Who could have borrowed it: everyone who replied under the post."""
    rows = await Reply.select(Reply.author).where((Reply.post == post_id) & Reply.author.is_not_null()).distinct()
    return [r["author"] for r in rows]


# Skills --------------------------------------------------------------------------


async def set_skills(user: User, skills: list[str]) -> None:
    async with UserSkill._meta.db.transaction():
        await UserSkill.delete().where(UserSkill.user == user.id)
        if skills and user.neighbourhood:
            await UserSkill.insert(
                *[UserSkill(user=user.id, neighbourhood=user.neighbourhood, skill=s) for s in skills]
            )
        await User.update({User.skills: skills}).where(User.id == user.id)


async def helpers_for(neighbourhood_id: int, skill: str, limit: int = 500) -> list[int]:
    rows = (
        await UserSkill.select(UserSkill.user)
        .where((UserSkill.neighbourhood == neighbourhood_id) & (UserSkill.skill == skill))
        .limit(limit)
    )
    return [r["user"] for r in rows]


async def directory(neighbourhood_id: int, per_skill: int = 12) -> dict[str, list[dict]]:
    """Per skill, the first neighbours who offer it (one indexed query per
    skill of a fixed list, never per person)."""
    from app.posts.kinds import SKILLS

    out: dict[str, list[dict]] = {}
    for skill in SKILLS:
        rows = await UserSkill.raw(
            'SELECT u.id, u.first_name, u.last_name, u.verification FROM user_skill s JOIN account u ON u.id = s."user" '
            'WHERE s.neighbourhood = {} AND s.skill = {} ORDER BY s."user" LIMIT {}',
            neighbourhood_id,
            skill,
            per_skill,
        )
        if rows:
            out[skill] = rows
    return out


async def skill_page(
    neighbourhood_id: int, skill: str, after: int | None = None, limit: int = 50
) -> tuple[list[dict], int | None]:
    return await keyset_page(
        UserSkill.raw(
            'SELECT u.id, u.first_name, u.last_name, u.verification FROM user_skill s JOIN account u ON u.id = s."user" '
            "WHERE s.neighbourhood = {} AND s.skill = {}",
            neighbourhood_id,
            skill,
        ),
        _SKILLED_NEIGHBOURS,
        cursor=after or None,
        size=limit,
    )


async def close_listings_of(user_id: int) -> None:
    """Nobody will give, lend or answer any more: the listings say so."""
    await Post.update({Post.status: "closed", Post.updated_at: datetime.now(timezone.utc)}).where(
        (Post.author == user_id)
        & Post.kind.is_in(list(LISTING_KINDS))
        & Post.status.is_in(["open", "reserved", "lent"])
    )


# What other lists of posts (app.posts.saved) select and join: the feed's own.
POST_COLUMNS = _POST_COLUMNS
