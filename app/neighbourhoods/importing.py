"""Official boundaries in: the files operators actually have.

- GeoJSON with Voisinage's properties (slug, name, city, postcode): open quartiers.
- GeoJSON of a city's quartiers with properties of their own: the operator
  names the property holding the name (`--name-property l_qu --city Paris`).
- INSEE's IRIS contours (properties CODE_IRIS, NOM_IRIS, NOM_COM, any case),
  as GeoJSON or GeoPackage: forming quartiers, one per IRIS. An address
  outside every open quartier joins the waiting list of the IRIS containing
  it, named after it (after the commune for a commune not split into IRIS),
  and the quartier opens at the threshold like any other.

Coordinates in another system than longitude/latitude (IGN publishes IRIS
in Lambert-93, EPSG:2154) are reprojected with pyproj. A GeoPackage is an
SQLite file whose geometries are WKB behind a small header (OGC 12-128r18,
§2.1.3): sqlite3 and shapely read it, no GDAL needed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from app.neighbourhoods import geometry, nearby, queries
from app.neighbourhoods.tables import Neighbourhood

BATCH = 500
# About 10 cm: reprojected coordinates need no more digits than that.
GRID_DEGREES = 1e-6
_GPKG_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


@dataclass(frozen=True)
class Areas:
    features: list[dict]  # GeoJSON features with slug, name, city, postcode, area_code
    status: str  # "open" quartiers, or "forming" waiting areas (IRIS)
    kind: str  # "quartiers" or "iris"


def read_areas(
    path: Path | str,
    *,
    crs: str | None = None,
    layer: str | None = None,
    name_property: str | None = None,
    city: str | None = None,
) -> Areas:
    """Reads, reprojects and checks every area of a file; a ValueError in
    French naming the faulty feature otherwise."""
    path = Path(path)
    if _is_geopackage(path):
        raw, file_crs = _read_geopackage(path, layer)
    else:
        raw, file_crs = _read_geojson(path)
    if not raw:
        raise ValueError("le fichier ne contient aucune zone")
    to_lon_lat = _transformer(crs or file_crs, raw)
    iris = name_property is None and _is_iris(raw[0][0])
    features, seen = [], set()
    for number, (props, shape) in enumerate(raw, start=1):
        label = f"zone {number}"
        if shape is None or shape.is_empty:
            raise ValueError(f"{label} : pas de géométrie")
        if to_lon_lat is not None:
            shape = shapely.set_precision(
                shapely.transform(shape, to_lon_lat.transform, interleaved=False), GRID_DEGREES
            )
        geom = json.loads(shapely.to_geojson(shapely.force_2d(shape)))
        properties = _iris_properties(props, label) if iris else _quartier_properties(props, label, name_property, city)
        label = f"zone {number} ({properties['slug']})"
        geometry.checked_shape(label, geom)
        min_lat, max_lat, min_lon, max_lon = geometry.bbox(geom)
        if not (-90 <= min_lat <= max_lat <= 90 and -180 <= min_lon <= max_lon <= 180):
            raise ValueError(f"{label} : coordonnées hors de la Terre après reprojection")
        if properties["slug"] in seen:
            raise ValueError(f"{label} : identifiant présent deux fois")
        seen.add(properties["slug"])
        features.append({"type": "Feature", "properties": properties, "geometry": geom})
    return Areas(features, "forming" if iris else "open", "iris" if iris else "quartiers")


async def save(areas: Areas) -> tuple[int, int]:
    """Creates the new areas and updates the boundaries and names of those
    already there (their status and members stay); returns (created, updated)."""
    created = updated = 0
    now = datetime.now(timezone.utc)
    for start in range(0, len(areas.features), BATCH):
        batch = areas.features[start : start + BATCH]
        slugs = [f["properties"]["slug"] for f in batch]
        async with Neighbourhood._meta.db.transaction():
            existing = {
                r["slug"]: r["id"]
                for r in await Neighbourhood.select(Neighbourhood.id, Neighbourhood.slug).where(
                    Neighbourhood.slug.is_in(slugs)
                )
            }
            new = [
                Neighbourhood(slug=f["properties"]["slug"], status=areas.status, created_at=now, **queries.columns(f))
                for f in batch
                if f["properties"]["slug"] not in existing
            ]
            if new:
                await Neighbourhood.insert(*new)
            for feature in batch:
                neighbourhood_id = existing.get(feature["properties"]["slug"])
                if neighbourhood_id is not None:
                    values = queries.columns(feature)
                    await Neighbourhood.update({getattr(Neighbourhood, k): v for k, v in values.items()}).where(
                        Neighbourhood.id == neighbourhood_id
                    )
        created += len(new)
        updated += len(batch) - len(new)
        queries.forget(*existing.values())
        # Quartiers voisins: only open quartiers have them (a waiting IRIS area costs nothing here).
        if areas.status == "open":
            await nearby.refresh(
                r["id"] for r in await Neighbourhood.select(Neighbourhood.id).where(Neighbourhood.slug.is_in(slugs))
            )
        else:
            await nearby.refresh(existing.values())
    return created, updated


# Properties ------------------------------------------------------------------------


def _lower(props: dict) -> dict:
    return {str(k).lower(): v for k, v in props.items()}


def _text(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _is_iris(props: dict) -> bool:
    keys = _lower(props)
    return "code_iris" in keys and "nom_iris" in keys


def _iris_properties(props: dict, label: str) -> dict:
    keys = _lower(props)
    code = _text(keys.get("code_iris"))
    commune = _text(keys.get("nom_com") or keys.get("nom_commune"))
    name = _text(keys.get("nom_iris"))
    if not code or not commune:
        raise ValueError(f"{label} : CODE_IRIS ou NOM_COM manquant")
    # A commune too small to be split is one IRIS (type Z, code ending 0000)
    # carrying the commune's name: its waiting list is the commune's.
    if not name or _text(keys.get("typ_iris") or keys.get("type_iris")) == "Z" or code.endswith("0000"):
        name = commune
    return {
        "slug": f"iris-{code}".lower(),
        "name": name[:120],
        "city": commune[:120],
        "postcode": "",
        "area_code": code[:20],
    }


def _quartier_properties(props: dict, label: str, name_property: str | None, city: str | None) -> dict:
    if name_property is None:
        missing = [k for k in geometry.REQUIRED if not _text(props.get(k))]
        if missing:
            raise ValueError(
                f"{label} : propriétés manquantes ({', '.join(missing)}) ; pour un autre fichier, "
                "indiquez la propriété du nom avec --name-property et la ville avec --city"
            )
        return {k: _text(props[k]) for k in geometry.REQUIRED} | {"area_code": ""}
    name = _text(props.get(name_property))
    city = _text(city or props.get("city"))
    if not name or not city:
        raise ValueError(
            f"{label} : pas de nom dans « {name_property} »" if not name else f"{label} : indiquez la ville avec --city"
        )
    slug = _text(props.get("slug")) or queries._slugify(f"{city}-{name}")
    return {
        "slug": slug,
        "name": name[:120],
        "city": city[:120],
        "postcode": _text(props.get("postcode"))[:10],
        "area_code": "",
    }


# Coordinates -------------------------------------------------------------------------


def _transformer(crs: str | None, raw: list) -> Transformer | None:
    """None when the coordinates already are WGS84 longitude/latitude."""
    if crs is None:
        min_x, min_y, max_x, max_y = shapely.total_bounds([shape for _props, shape in raw if shape is not None])
        if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
            raise ValueError(
                f"les coordonnées ne sont pas des longitudes et latitudes (x = {min_x:.0f}) : "
                "indiquez leur système avec --crs, par exemple --crs EPSG:2154 pour le Lambert-93"
            )
        return None
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise ValueError(f"système de coordonnées inconnu : {crs}") from exc
    if source.equals("OGC:CRS84", ignore_axis_order=True):
        return None
    # always_xy: x is the longitude whatever the axis order the EPSG code declares.
    return Transformer.from_crs(source, "EPSG:4326", always_xy=True)


# Files -----------------------------------------------------------------------------


def _is_geopackage(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError as exc:
        raise ValueError(f"lecture impossible de {path} : {exc.strerror}") from exc


def _read_geojson(path: Path) -> tuple[list, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"GeoJSON illisible ({path.name}) : {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("le GeoJSON doit être un objet Feature ou FeatureCollection")
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    if not isinstance(features, list):
        raise ValueError("le GeoJSON n'a pas de liste « features »")
    raw = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise ValueError(f"zone {number} : pas un objet Feature avec des propriétés")
        geom = feature.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"zone {number} : la géométrie doit être un Polygon ou un MultiPolygon")
        try:
            raw.append((props, shapely.from_geojson(json.dumps(geom))))
        except shapely.errors.GEOSException as exc:
            raise ValueError(f"zone {number} : géométrie illisible ({exc})") from exc
    # The 2008 GeoJSON "crs" member, which GDAL still writes for Lambert-93 files.
    named = (data.get("crs") or {}).get("properties", {}).get("name") if isinstance(data.get("crs"), dict) else None
    return raw, named


def _read_geopackage(path: Path, layer: str | None) -> tuple[list, str]:
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ValueError(f"GeoPackage illisible : {exc}") from exc
    try:
        tables = connection.execute(
            "SELECT c.table_name, c.column_name, c.srs_id FROM gpkg_geometry_columns c "
            "JOIN gpkg_contents t ON t.table_name = c.table_name WHERE t.data_type = 'features'"
        ).fetchall()
        names = ", ".join(t[0] for t in tables)
        if layer is not None:
            tables = [t for t in tables if t[0] == layer]
            if not tables:
                raise ValueError(f"pas de couche « {layer} » dans ce GeoPackage (couches : {names or 'aucune'})")
        if not tables:
            raise ValueError("ce GeoPackage n'a aucune couche d'entités")
        if len(tables) > 1:
            raise ValueError(f"choisissez la couche avec --layer parmi : {names}")
        table, column, srs_id = tables[0]
        organisation, code, definition = connection.execute(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
            (srs_id,),
        ).fetchone() or ("", 0, "")
        crs = f"EPSG:{code}" if str(organisation).upper() == "EPSG" else definition
        cursor = connection.execute(f'SELECT * FROM "{table.replace(chr(34), chr(34) * 2)}"')
        names = [d[0] for d in cursor.description]
        raw = []
        for number, row in enumerate(cursor, start=1):
            props = {k: v for k, v in zip(names, row, strict=False) if k != column}
            try:
                raw.append((props, _gpkg_geometry(row[names.index(column)])))
            except (ValueError, shapely.errors.GEOSException) as exc:
                raise ValueError(f"zone {number} : {exc}") from exc
        return raw, crs
    except sqlite3.Error as exc:
        raise ValueError(f"ce fichier SQLite n'est pas un GeoPackage lisible ({exc})") from exc
    finally:
        connection.close()


def _gpkg_geometry(blob: bytes | None):
    """The geometry of a GeoPackage binary: "GP", version, flags, srs_id, envelope, then WKB."""
    if not blob:
        return None
    if blob[:2] != b"GP" or len(blob) < 8:
        raise ValueError("géométrie GeoPackage invalide (en-tête « GP » absent)")
    flags = blob[3]
    if flags & 0b0010_0000:
        raise ValueError("géométrie GeoPackage étendue : non prise en charge")
    if flags & 0b0001_0000:
        return None  # empty geometry
    envelope = _GPKG_ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise ValueError("géométrie GeoPackage invalide (enveloppe inconnue)")
    return shapely.from_wkb(bytes(blob[8 + envelope :]))
