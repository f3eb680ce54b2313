"""Neighbourhood shapes: GeoJSON in, shapely for the point-in-polygon test."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry import Point, shape
from shapely.prepared import prep

REQUIRED = ("slug", "name", "city", "postcode")
EARTH_RADIUS_M = 6_371_000


def load_features(source: Path | str | dict) -> list[dict]:
    """Validated Polygon/MultiPolygon features; a ValueError naming the faulty feature otherwise."""
    data = source
    if isinstance(source, (str, Path)):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read GeoJSON {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("GeoJSON must be a Feature or a FeatureCollection")
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    if not isinstance(features, list) or not features:
        raise ValueError("no features found")
    out, seen = [], set()
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise ValueError(f"feature {i}: not a GeoJSON Feature with properties")
        missing = [k for k in REQUIRED if not str(props.get(k) or "").strip()]
        if missing:
            raise ValueError(f"feature {i}: missing properties {', '.join(missing)}")
        slug = str(props["slug"])
        if slug in seen:
            raise ValueError(f"feature {slug}: slug used twice")
        seen.add(slug)
        geom = feature.get("geometry") or {}
        checked_shape(f"feature {slug}", geom)
        out.append({"type": "Feature", "properties": {k: str(props[k]) for k in REQUIRED}, "geometry": geom})
    return out


def checked_shape(label: str, geom: dict):
    """The shapely polygon of a GeoJSON geometry; a ValueError saying what is wrong otherwise."""
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"{label}: geometry must be a Polygon or MultiPolygon")
    try:
        shp = shape(geom)
    except Exception as exc:  # shapely raises a mix of types for malformed coordinates
        raise ValueError(f"{label}: unreadable geometry ({exc})") from exc
    if shp.is_empty or not shp.is_valid:
        raise ValueError(f"{label}: invalid polygon (empty, unclosed or self-intersecting)")
    return shp


def bbox(geometry: dict) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = shape(geometry).bounds
    return min_lat, max_lat, min_lon, max_lon


def centre(geometry: dict) -> tuple[float, float]:
    # Not the centroid: a crescent-shaped neighbourhood's centroid can lie outside it.
    point = shape(geometry).representative_point()
    return point.y, point.x


@lru_cache(maxsize=2048)
def _prepared(key: str):
    # GEOS reads the GeoJSON itself: with 50,000 areas most lookups miss this cache.
    return prep(shapely.from_geojson(key))


def contains(geometry: dict | str, lat: float, lon: float) -> bool:
    # Keyed by the geometry itself, so an edited boundary is never served stale;
    # covers() so an address exactly on the boundary still belongs somewhere.
    # SQLite hands JSON columns back as text, PostgreSQL as text too (json, not jsonb).
    key = geometry if isinstance(geometry, str) else json.dumps(geometry, sort_keys=True)
    return _prepared(key).covers(Point(lon, lat))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def circle_polygon(lat: float, lon: float, radius_m: float, points: int = 24) -> dict:
    """Destination points at equal bearings; counter-clockwise, as RFC 7946 wants exterior rings."""
    d = radius_m / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lon)
    ring = []
    for i in range(points):
        bearing = -2 * math.pi * i / points
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
        l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
        ring.append([round(math.degrees(l2), 6), round(math.degrees(p2), 6)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}
