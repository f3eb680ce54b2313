"""Named queries about neighbourhoods and membership."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

from app.accounts.tables import User
from app.db.recent import Recent
from app.db.rows import as_object
from app.neighbourhoods import geometry, nearby, newcomers
from app.neighbourhoods.tables import Neighbourhood

OPENING_THRESHOLD = 10
WAITLIST_RADIUS_M = 800


# "12", "12 bis", "12B" at the start of an address; a postcode and what follows
# it at the end (the Base Adresse Nationale writes "5 Rue X 21000 Dijon").
_HOUSE_NUMBER = re.compile(r"^\s*\d+\s*(?:(?:bis|ter|quater)\b|[a-z]\b)?[\s,]*", re.IGNORECASE)
_POSTCODE_AND_TOWN = re.compile(r"[\s,]*\b\d{5}\b.*$")


def street_of(label: str) -> str:
    """The street of an address without its house number nor its town.

    A forming quartier is named after it, and every later neighbour on the
    waiting list sees that name: it must not be the first one's front door."""
    street = _HOUSE_NUMBER.sub("", label, count=1).split(",")[0]
    street = " ".join(_POSTCODE_AND_TOWN.sub("", street).split())
    return street[:1].upper() + street[1:]


def _slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "quartier"


async def by_id(neighbourhood_id: int) -> Neighbourhood | None:
    # On every page: plain SQL, as Piccolo's objects() builder costs more than the lookup.
    rows = await Neighbourhood.raw("SELECT * FROM neighbourhood WHERE id = {}", neighbourhood_id)
    return as_object(Neighbourhood, rows[0]) if rows else None


# The neighbourhood for the header of a page: read at most every few seconds
# per process. A neighbour count or an opening shows a few seconds late; the
# feed, the busiest page, saves a query per view.
recent: Recent[Neighbourhood | None] = Recent()


async def current(neighbourhood_id: int) -> Neighbourhood | None:
    return await recent.get(neighbourhood_id, lambda: by_id(neighbourhood_id))


def forget(*neighbourhood_ids: int | None) -> None:
    """Changes made by this process show at once."""
    recent.forget(*neighbourhood_ids)


async def by_slug(slug: str) -> Neighbourhood | None:
    return await Neighbourhood.objects().where(Neighbourhood.slug == slug).first()


# The boxes around a point, through a spatial index: SQLite's R*Tree
# (neighbourhood_rtree, kept by triggers) or a GiST index on PostgreSQL.
# Smallest box first, so the most precise area wins where areas overlap.
_AROUND_SQLITE = (
    "SELECT n.* FROM neighbourhood_rtree r JOIN neighbourhood n ON n.id = r.id "
    "WHERE r.min_lon <= {} AND r.max_lon >= {} AND r.min_lat <= {} AND r.max_lat >= {} AND n.status = {} "
    "ORDER BY (n.max_lon - n.min_lon) * (n.max_lat - n.min_lat)"
)
_AROUND_POSTGRES = (
    "SELECT * FROM neighbourhood WHERE box(point(min_lon, min_lat), point(max_lon, max_lat)) "
    "@> box(point({lon}, {lat}), point({lon}, {lat})) AND status = {status} "
    "ORDER BY (max_lon - min_lon) * (max_lat - min_lat)"
)
_AROUND_ASYNCPG = _AROUND_POSTGRES.format(lon="$1", lat="$2", status="$3")
_AROUND_PICCOLO = _AROUND_POSTGRES.format(lon="{}", lat="{}", status="{}")


async def containing(lat: float, lon: float, status: str = "open") -> Neighbourhood | None:
    """The spatial index narrows 50,000 areas to the few boxes around the point; shapely decides."""
    engine = Neighbourhood._meta.db
    if engine.engine_type == "sqlite":
        rows = await Neighbourhood.raw(_AROUND_SQLITE, lon, lon, lat, lat, status)
    elif engine.pool is not None and engine.current_transaction.get() is None:
        # One round trip, a statement asyncpg prepared once per connection: Piccolo's query building cost
        # more than the lookup itself (bench/neighbourhoods.py).
        rows = await engine.pool.fetch(_AROUND_ASYNCPG, lon, lat, status)
    else:  # inside a transaction, whose connection sees its own writes; or a command without a pool
        rows = await Neighbourhood.raw(_AROUND_PICCOLO, lon, lat, lon, lat, status)
    for row in rows:
        if geometry.contains(row["boundary"], lat, lon):
            return as_object(Neighbourhood, row)
    return None


def columns(feature: dict) -> dict:
    """What a feature sets in its neighbourhood's row (slug and status aside)."""
    props = feature["properties"]
    geom = feature["geometry"]
    min_lat, max_lat, min_lon, max_lon = geometry.bbox(geom)
    c_lat, c_lon = geometry.centre(geom)
    return dict(
        name=props["name"],
        city=props["city"],
        postcode=str(props["postcode"]),
        boundary=geom,
        area_code=str(props.get("area_code") or ""),
        min_lat=min_lat,
        max_lat=max_lat,
        min_lon=min_lon,
        max_lon=max_lon,
        centre_lat=c_lat,
        centre_lon=c_lon,
    )


async def upsert(feature: dict, *, status: str = "open") -> Neighbourhood:
    props = feature["properties"]
    values = columns(feature)
    existing = await by_slug(props["slug"])
    if existing:
        await Neighbourhood.update({getattr(Neighbourhood, k): v for k, v in values.items()}).where(
            Neighbourhood.id == existing.id
        )
        await nearby.refresh([existing.id])
        return await by_id(existing.id)  # type: ignore[return-value]
    neighbourhood = Neighbourhood(slug=props["slug"], status=status, created_at=datetime.now(timezone.utc), **values)
    await neighbourhood.save()
    await nearby.refresh([neighbourhood.id])
    return neighbourhood


async def _move_member(user_id: int, old_id: int | None, new_id: int, address: tuple[str, float, float]) -> None:
    label, lat, lon = address
    moved = {User.neighbourhood_joined_at: datetime.now(timezone.utc)} if old_id != new_id else {}
    async with Neighbourhood._meta.db.transaction():
        await User.update(
            {
                User.neighbourhood: new_id,
                User.address_label: label,
                # ~10 m of precision is all a neighbourhood needs; less is kept, less can leak.
                User.address_lat: round(lat, 4),
                User.address_lon: round(lon, 4),
                User.verification: "address_checked",
                # A new address in the same quartier is no arrival.
                **moved,
            }
        ).where(User.id == user_id)
        if old_id and old_id != new_id:
            await Neighbourhood.update({Neighbourhood.member_count: Neighbourhood.member_count - 1}).where(
                Neighbourhood.id == old_id
            )
        if old_id != new_id:
            await Neighbourhood.update({Neighbourhood.member_count: Neighbourhood.member_count + 1}).where(
                Neighbourhood.id == new_id
            )
    forget(old_id, new_id)
    if old_id != new_id:
        newcomers.forget(new_id)


async def join(user: User, neighbourhood: Neighbourhood, label: str, lat: float, lon: float) -> None:
    await _move_member(user.id, user.neighbourhood, neighbourhood.id, (label, lat, lon))


async def join_waitlist(user: User, label: str, lat: float, lon: float, city: str, postcode: str) -> Neighbourhood:
    """Puts the neighbour in the forming neighbourhood around them, creating
    one (an 800 m circle) when none is near; opens it at the threshold."""
    neighbourhood = await containing(lat, lon, status="forming")
    if neighbourhood is None:
        geom = geometry.circle_polygon(lat, lon, WAITLIST_RADIUS_M)
        name = street_of(label) or city
        base = _slugify(f"{city}-{name}")
        slug = base
        n = 2
        while await Neighbourhood.exists().where(Neighbourhood.slug == slug):
            slug, n = f"{base}-{n}", n + 1
        neighbourhood = await upsert(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {"slug": slug, "name": name, "city": city, "postcode": postcode},
            },
            status="forming",
        )
    await join(user, neighbourhood, label, lat, lon)
    await open_if_ready(neighbourhood.id)
    return await by_id(neighbourhood.id)  # type: ignore[return-value]


async def open_if_ready(neighbourhood_id: int) -> bool:
    result = (
        await Neighbourhood.update({Neighbourhood.status: "open"})
        .where(
            (Neighbourhood.id == neighbourhood_id)
            & (Neighbourhood.status == "forming")
            & (Neighbourhood.member_count >= OPENING_THRESHOLD)
        )
        .returning(Neighbourhood.id)
    )
    forget(neighbourhood_id)
    if result:
        await nearby.refresh([neighbourhood_id])
    return bool(result)


async def open_neighbourhood(slug: str) -> bool:
    result = (
        await Neighbourhood.update({Neighbourhood.status: "open"})
        .where(Neighbourhood.slug == slug)
        .returning(Neighbourhood.id)
    )
    forget(*(r["id"] for r in result))
    await nearby.refresh(r["id"] for r in result)
    return bool(result)


async def forming(limit: int = 50) -> list[Neighbourhood]:
    return (
        await Neighbourhood.objects()
        .where(Neighbourhood.status == "forming")
        .order_by(Neighbourhood.member_count, ascending=False)
        .limit(limit)
    )
