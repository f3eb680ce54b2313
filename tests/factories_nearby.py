"""Quartiers voisins as the tests need them: real boundaries, a kilometre apart or not."""

from __future__ import annotations

import itertools
import uuid

from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from tests.factories import make_user

# A spot of its own per test (60° N in the Atlantic: far from the demo cities
# and from the other tests' quartiers, which lie between 45° and 50° N).
_spots = itertools.count()
KM_LAT = 1 / 111.195  # one kilometre in degrees of latitude


def _spot() -> tuple[float, float]:
    n = next(_spots)
    return 60.0 + (n % 40) * 0.2, -30.0 - (n // 40) * 0.5


async def quartier(name: str, lat: float, lon: float, *, radius_m: float = 500, status: str = "open") -> Neighbourhood:
    return await neighbourhoods.upsert(
        {
            "type": "Feature",
            "geometry": geometry.circle_polygon(lat, lon, radius_m),
            "properties": {
                "slug": f"{name.lower()}-{uuid.uuid4().hex[:8]}",
                "name": name,
                "city": "Testville",
                "postcode": "99000",
            },
        },
        status=status,
    )


async def three_quartiers():
    """Centres: Les Tilleuls; La Gare 1.8 km north (800 m between the edges);
    Le Port 3 km south (2 km between the edges: too far)."""
    lat, lon = _spot()
    tilleuls = await quartier("Tilleuls", lat, lon)
    gare = await quartier("Gare", lat + 1.8 * KM_LAT, lon)
    port = await quartier("Port", lat - 3.0 * KM_LAT, lon)
    return tilleuls, gare, port


async def people_of_three_quartiers():
    tilleuls, gare, port = await three_quartiers()
    author = await make_user(tilleuls, first_name="Claire", last_name="Dupont")
    neighbour = await make_user(tilleuls, first_name="Hugo", last_name="Martin")
    from_gare = await make_user(gare, first_name="Paul", last_name="Bernard")
    from_port = await make_user(port, first_name="Léa", last_name="Moreau")
    return (tilleuls, gare, port), (author, neighbour, from_gare, from_port)
