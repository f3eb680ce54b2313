"""Rebuilds the fixtures of this folder from the shared Paris quartiers file.

    python tests/data/make_fixtures.py /path/to/quartiers-paris.geojson

- quartiers-paris-15e.geojson: the four quartiers of the 15e, lines copied unchanged.
- iris-paris-lambert93.geojson: three quartiers (Plaisance, Saint-Lambert, Javel)
  reprojected to Lambert-93 (EPSG:2154) with pyproj, with IRIS-style properties.
- iris-paris-lambert93.gpkg: the same, written by GDAL's ogr2ogr (so the
  GeoPackage reader is tested against a file it did not write itself).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shapely
from pyproj import Transformer

HERE = Path(__file__).parent
EXCERPT = {"Grenelle", "Necker", "Saint-Lambert", "Javel"}
# Stand-ins for real IRIS: Paris IRIS codes are the arrondissement's INSEE code
# followed by the quartier's number and the IRIS' number within it; the real
# names differ ("Saint-Lambert 1" …). Plaisance plays a commune not split into
# IRIS (type Z, code ending 0000, named after the commune).
IRIS = {
    "Saint-Lambert": {"INSEE_COM": "75115", "NOM_COM": "Paris 15e Arrondissement", "IRIS": "5701",
                      "CODE_IRIS": "751155701", "NOM_IRIS": "Saint-Lambert", "TYP_IRIS": "H"},
    "Javel": {"INSEE_COM": "75115", "NOM_COM": "Paris 15e Arrondissement", "IRIS": "6001",
              "CODE_IRIS": "751156001", "NOM_IRIS": "Javel", "TYP_IRIS": "H"},
    "Plaisance": {"INSEE_COM": "75114", "NOM_COM": "Paris 14e Arrondissement", "IRIS": "0000",
                  "CODE_IRIS": "751140000", "NOM_IRIS": "Paris 14e Arrondissement", "TYP_IRIS": "Z"},
}


def main(source: Path) -> None:
    lines = source.read_text(encoding="utf-8").splitlines()
    kept = [line.rstrip(",") for line in lines if line.startswith('{"type":"Feature"')
            and json.loads(line.rstrip(","))["properties"]["name"] in EXCERPT]
    (HERE / "quartiers-paris-15e.geojson").write_text(
        '{"type": "FeatureCollection", "features": [\n' + ",\n".join(kept) + "\n]}\n", encoding="utf-8")

    to_lambert = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    features = []
    for line in lines:
        if not line.startswith('{"type":"Feature"'):
            continue
        feature = json.loads(line.rstrip(","))
        props = IRIS.get(feature["properties"]["name"])
        if props:
            shape = shapely.from_geojson(json.dumps(feature["geometry"]))
            projected = shapely.set_precision(shapely.transform(shape, to_lambert.transform, interleaved=False), 0.01)
            features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(projected))})
    collection = {"type": "FeatureCollection", "name": "contours_iris",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}, "features": features}
    geojson = HERE / "iris-paris-lambert93.geojson"
    geojson.write_text(json.dumps(collection, ensure_ascii=False) + "\n", encoding="utf-8")
    gpkg = HERE / "iris-paris-lambert93.gpkg"
    gpkg.unlink(missing_ok=True)
    subprocess.run(["ogr2ogr", "-f", "GPKG", "-nln", "contours_iris", str(gpkg), str(geojson)], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
