"""Quartiers voisins: the quartiers whose boundaries touch or lie within
1 km of each other.

Computed when a boundary is created or changes (`refresh`), stored both ways
round in `neighbourhood_nearby`, read by one indexed query (`app.access.nearby`
decides who sees what across them). The distance is measured on a local flat
projection around the pair: at 1 km, its error is far below a metre.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import shapely
from shapely.geometry import shape

from app.access.nearby import nearby_ids
from app.neighbourhoods.geometry import EARTH_RADIUS_M
from app.neighbourhoods.tables import Neighbourhood, NeighbourhoodNearby

NEARBY_DISTANCE_M = 1000
# The bounding box is widened by this much before shapely measures: 1 km in
# latitude degrees, and in longitude degrees at the quartier's latitude.
_DEGREE_M = math.pi * EARTH_RADIUS_M / 180

_AROUND_SQLITE = (
    "SELECT n.id, n.boundary FROM neighbourhood_rtree r JOIN neighbourhood n ON n.id = r.id "
    "WHERE r.min_lon <= {} AND r.max_lon >= {} AND r.min_lat <= {} AND r.max_lat >= {} AND n.id <> {} "
    "AND n.status = 'open'"
)
_AROUND_POSTGRES = (
    "SELECT id, boundary FROM neighbourhood WHERE box(point(min_lon, min_lat), point(max_lon, max_lat)) "
    "&& box(point({}, {}), point({}, {})) AND id <> {} AND status = 'open'"
)


def _flat(geometry, lat0: float):
    """The shape in metres east and north, scaled at latitude `lat0`."""
    scale = (_DEGREE_M * math.cos(math.radians(lat0)), _DEGREE_M)
    return shapely.transform(geometry, lambda coords: coords * scale)


def _shape(boundary: dict | str):
    # JSON columns come back as text on both engines; a fresh object holds the dict.
    return shape(json.loads(boundary) if isinstance(boundary, str) else boundary)


async def _candidates(row: Neighbourhood) -> list[dict]:
    margin_lat = NEARBY_DISTANCE_M / _DEGREE_M
    margin_lon = margin_lat / max(math.cos(math.radians(row.centre_lat)), 0.01)
    box = (row.min_lon - margin_lon, row.max_lon + margin_lon, row.min_lat - margin_lat, row.max_lat + margin_lat)
    min_lon, max_lon, min_lat, max_lat = box
    if Neighbourhood._meta.db.engine_type == "sqlite":
        return await Neighbourhood.raw(_AROUND_SQLITE, max_lon, min_lon, max_lat, min_lat, row.id)
    return await Neighbourhood.raw(_AROUND_POSTGRES, min_lon, min_lat, max_lon, max_lat, row.id)


async def distances(row: Neighbourhood) -> dict[int, int]:
    """The quartiers within 1 km of `row`'s boundary, and how far (m) they are."""
    own = _flat(_shape(row.boundary), row.centre_lat)
    found = {}
    for other in await _candidates(row):
        metres = own.distance(_flat(_shape(other["boundary"]), row.centre_lat))
        if metres <= NEARBY_DISTANCE_M:
            found[other["id"]] = round(metres)
    return found


async def refresh(neighbourhood_ids: Iterable[int]) -> None:
    """Recomputes the pairs of these quartiers, after their boundaries were
    created or changed or they opened (both ways round: the others' lists
    change too). Only open quartiers have voisins: a waiting list has no page
    to show anything on, and an import of 50,000 IRIS areas, all waiting,
    costs one query per batch here."""
    ids = list(neighbourhood_ids)
    if not ids:
        return
    placeholders = ", ".join("{}" for _ in ids)
    opened = await Neighbourhood.raw(
        f"SELECT * FROM neighbourhood WHERE id IN ({placeholders}) AND status = 'open'", *ids
    )
    for found in opened:
        row = Neighbourhood(_ignore_missing=True, **found)
        metres_to = await distances(row)
        async with Neighbourhood._meta.db.transaction():
            before = await nearby_ids(row.id)
            await NeighbourhoodNearby.delete().where(
                (NeighbourhoodNearby.neighbourhood == row.id) | (NeighbourhoodNearby.nearby == row.id)
            )
            pairs = [
                NeighbourhoodNearby(neighbourhood=a, nearby=b, distance_m=metres)
                for other, metres in metres_to.items()
                for a, b in ((row.id, other), (other, row.id))
            ]
            if pairs:
                await NeighbourhoodNearby.insert(*pairs)
            changed = {row.id, *before, *metres_to}
            marks = ", ".join("{}" for _ in changed)
            await Neighbourhood.raw(
                "UPDATE neighbourhood SET nearby_count = (SELECT count(*) FROM neighbourhood_nearby x "
                f"WHERE x.neighbourhood = neighbourhood.id) WHERE id IN ({marks})",
                *changed,
            )


async def refresh_all(batch: int = 500) -> int:
    """Every quartier's pairs, from scratch (after the upgrade that brought them)."""
    last, count = 0, 0
    while True:
        ids = [
            r["id"]
            for r in await Neighbourhood.select(Neighbourhood.id)
            .where(Neighbourhood.id > last)
            .order_by(Neighbourhood.id)
            .limit(batch)
        ]
        if not ids:
            return count
        await refresh(ids)
        last, count = ids[-1], count + len(ids)


async def listed(neighbourhood_id: int) -> list[dict]:
    """The open quartiers voisins, closest first, with their names (the chip's and the page's list)."""
    return await Neighbourhood.raw(
        "SELECT n.id, n.name, n.city, n.slug, x.distance_m FROM neighbourhood_nearby x "
        "JOIN neighbourhood n ON n.id = x.nearby WHERE x.neighbourhood = {} AND n.status = 'open' "
        "ORDER BY x.distance_m, n.name LIMIT 100",
        neighbourhood_id,
    )
