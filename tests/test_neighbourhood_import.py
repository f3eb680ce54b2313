"""An operator loads official boundaries; neighbours land in the right one.

Real shapes (tests/data/README.md): four quartiers administratifs of Paris
(15e), and IRIS stand-ins in Lambert-93 made from three of them. Addresses are
real rows of the Base Adresse Nationale export of Paris, with their BAN id.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.addresses.importer import COLUMNS, import_file
from app.neighbourhoods import importing
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from app.settings import ROOT, get_settings
from tests.factories import field_error, load_demo_addresses, login, make_user, post_form

DATA = Path(__file__).parent / "data"
QUARTIERS = DATA / "quartiers-paris-15e.geojson"
IRIS_GEOJSON = DATA / "iris-paris-lambert93.geojson"
IRIS_GPKG = DATA / "iris-paris-lambert93.gpkg"

# BAN id: (label, lon, lat) — the quartier administratif each lies in.
LIEUVIN_13 = ("75115_5677_00013", "13 Rue du Lieuvin, 75015 Paris", 2.304373, 48.830727)  # Saint-Lambert
BLOMET_59 = ("75115_1019_00059", "59 Rue Blomet, 75015 Paris", 2.30438, 48.842139)  # Necker
LETELLIER_12 = ("75115_5626_00012", "12 Rue Letellier, 75015 Paris", 2.294872, 48.848396)  # Grenelle
EGLISE_66 = ("75115_3177_00066", "66 Rue de l'Eglise, 75015 Paris", 2.290041, 48.843338)  # Javel
GUILLEMINOT_28 = ("75114_4396_00028", "28 Rue Guilleminot, 75014 Paris", 2.317741, 48.835789)  # Plaisance
# One of the 17 BAN points of Paris outside every quartier: the Issy side of the city limit.
ORADOUR_20 = ("75115_6907_00020", "20 Rue d'Oradour-Sur-Glane, 75015 Paris", 2.282242, 48.831265)

PARIS_15E = ["paris-grenelle", "paris-javel", "paris-necker", "paris-saint-lambert"]
IRIS = ["iris-751140000", "iris-751155701", "iris-751156001"]


@pytest.fixture(autouse=True)
async def forget_imports():
    """Imported areas are removed after each story, so that Paris is empty again for the next."""
    yield
    gone = await Neighbourhood.delete().where(Neighbourhood.slug.is_in(PARIS_15E + IRIS)).returning(Neighbourhood.id)
    neighbourhoods.forget(*(r["id"] for r in gone))


async def _import(path: Path, **options) -> importing.Areas:
    areas = importing.read_areas(path, **options)
    await importing.save(areas)
    return areas


async def _quartier_at(address: tuple, status: str = "open") -> str | None:
    _id, _label, lon, lat = address
    found = await neighbourhoods.containing(lat, lon, status=status)
    return found.slug if found else None


async def test_the_quartiers_of_paris_15e_are_imported_and_found_from_real_addresses():
    areas = await _import(QUARTIERS)
    assert areas.status == "open" and len(areas.features) == 4
    rows = await Neighbourhood.select(
        Neighbourhood.slug, Neighbourhood.name, Neighbourhood.postcode, Neighbourhood.status
    ).where(Neighbourhood.slug.is_in(PARIS_15E))
    assert sorted((r["slug"], r["name"], r["postcode"], r["status"]) for r in rows) == [
        ("paris-grenelle", "Grenelle", "75015", "open"),
        ("paris-javel", "Javel", "75015", "open"),
        ("paris-necker", "Necker", "75015", "open"),
        ("paris-saint-lambert", "Saint-Lambert", "75015", "open"),
    ]
    assert await _quartier_at(LIEUVIN_13) == "paris-saint-lambert"
    assert await _quartier_at(BLOMET_59) == "paris-necker"
    assert await _quartier_at(LETELLIER_12) == "paris-grenelle"
    assert await _quartier_at(EGLISE_66) == "paris-javel"
    assert await _quartier_at(ORADOUR_20) is None
    assert await _quartier_at(GUILLEMINOT_28) is None  # 14e: not in the excerpt


async def test_importing_again_updates_boundaries_and_keeps_the_members():
    await _import(QUARTIERS)
    necker = await neighbourhoods.by_slug("paris-necker")
    _id, label, lon, lat = BLOMET_59
    await neighbourhoods.join(await make_user(), necker, label, lat, lon)
    created, updated = await importing.save(importing.read_areas(QUARTIERS))
    assert (created, updated) == (0, 4)
    again = await neighbourhoods.by_slug("paris-necker")
    assert again.id == necker.id and again.member_count == 1 and again.status == "open"


async def test_lambert93_iris_contours_become_waiting_areas_named_after_them():
    for source in (IRIS_GEOJSON, IRIS_GPKG):
        areas = await _import(source)
        assert areas.kind == "iris" and areas.status == "forming"
        rows = {r["slug"]: r for r in await Neighbourhood.select().where(Neighbourhood.slug.is_in(IRIS))}
        assert {s: (r["name"], r["city"], r["status"], r["area_code"]) for s, r in rows.items()} == {
            "iris-751155701": ("Saint-Lambert", "Paris 15e Arrondissement", "forming", "751155701"),
            "iris-751156001": ("Javel", "Paris 15e Arrondissement", "forming", "751156001"),
            # A commune not split into IRIS is named after the commune.
            "iris-751140000": ("Paris 14e Arrondissement", "Paris 14e Arrondissement", "forming", "751140000"),
        }
        # Reprojected from Lambert-93, the areas hold the real addresses of their quartier.
        assert await _quartier_at(LIEUVIN_13, "forming") == "iris-751155701"
        assert await _quartier_at(EGLISE_66, "forming") == "iris-751156001"
        assert await _quartier_at(GUILLEMINOT_28, "forming") == "iris-751140000"
        assert await _quartier_at(BLOMET_59, "forming") is None


async def test_the_geopackage_and_the_geojson_give_the_same_areas():
    from_json = importing.read_areas(IRIS_GEOJSON).features
    from_gpkg = importing.read_areas(IRIS_GPKG).features
    assert [f["properties"] for f in from_json] == [f["properties"] for f in from_gpkg]
    assert [f["geometry"] for f in from_json] == [f["geometry"] for f in from_gpkg]


async def test_an_address_outside_open_quartiers_joins_its_iris_which_opens_at_the_threshold(make_client):
    # The operator runs two quartiers, Grenelle and Necker, and has loaded the IRIS around them.
    await _import(QUARTIERS)
    await Neighbourhood.delete().where(Neighbourhood.slug.is_in(["paris-saint-lambert", "paris-javel"]))
    await _import(IRIS_GEOJSON)

    # Rue Blomet is in Necker, an open quartier: no waiting list there.
    assert await _quartier_at(BLOMET_59) == "paris-necker"
    # Rue du Lieuvin is in no open quartier: its neighbours wait in the Saint-Lambert IRIS.
    assert await _quartier_at(LIEUVIN_13) is None
    _id, label, lon, lat = LIEUVIN_13
    first = await make_user(first_name="Inès")
    neighbourhood = await neighbourhoods.join_waitlist(first, label, lat, lon, "Paris", "75015")
    assert (neighbourhood.slug, neighbourhood.name, neighbourhood.status, neighbourhood.member_count) == (
        "iris-751155701",
        "Saint-Lambert",
        "forming",
        1,
    )

    client = await make_client()
    await login(client, first)
    page = await client.get("/feed")
    assert "Quartier en formation : Saint-Lambert" in page.text
    assert "1 personne inscrite sur 10" in page.text and "« Saint-Lambert »" in page.text and "800 m" not in page.text

    # Neighbours further along the street, all inside the IRIS, fill the list.
    for i in range(1, neighbourhoods.OPENING_THRESHOLD):
        someone = await make_user(first_name="Voisin")
        neighbourhood = await neighbourhoods.join_waitlist(
            someone, f"{13 + 2 * i} Rue du Lieuvin, 75015 Paris", lat, lon + i * 0.0001, "Paris", "75015"
        )
    assert (
        neighbourhood.slug == "iris-751155701" and neighbourhood.status == "open" and neighbourhood.member_count == 10
    )
    assert await _quartier_at(LIEUVIN_13) == "iris-751155701"
    opened = await client.get("/feed")
    assert "Quartier en formation" not in opened.text and "Saint-Lambert" in opened.text


async def test_unknown_projection_is_refused_until_the_operator_names_it(tmp_path):
    bare = json.loads(IRIS_GEOJSON.read_text())
    del bare["crs"]
    path = tmp_path / "iris-sans-crs.geojson"
    path.write_text(json.dumps(bare))
    with pytest.raises(ValueError, match="--crs"):
        importing.read_areas(path)
    named = importing.read_areas(path, crs="EPSG:2154")
    assert named.features == importing.read_areas(IRIS_GEOJSON).features


# The real rows of the Base Adresse Nationale export of Paris (adresses-75.csv.gz, tests/data/README.md).
LIEUVIN_ROWS = (
    "75115_5677_00013;75115_5677;13;;Rue du Lieuvin;75015;75115;Paris 15e Arrondissement;;;648934.56;6859188.31;"
    "2.304373;48.830727;parcelle;;;PARIS;RUE DU LIEUVIN;commune;commune;1;\n"
    "75114_4396_00028;75114_4396;28;;Rue Guilleminot;75014;75114;Paris 14e Arrondissement;;;649920.73;6859742.58;"
    "2.317741;48.835789;parcelle;;;PARIS;RUE GUILLEMINOT;commune;commune;1;\n"
)


def _page_text(html: str) -> str:
    """The page as a reader sees it: no tags, entities read, spaces folded."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def _wait_at(make_client, address: str, language: str) -> tuple[str, str]:
    """Someone signs up at `address`, is offered the waiting list, joins it: what they read, before and after."""
    client = await make_client()
    client.headers["Accept-Language"] = language
    name = f"iris.{uuid.uuid4().hex[:8]}"
    await post_form(
        client,
        "/signup",
        {
            "first_name": "Maëlle",
            "last_name": "Roux",
            "email": f"{name}@exemple.fr",
            "password": "les tilleuls du square",
        },
    )
    found = await client.get("/signup/address", params={"q": address})
    candidate = re.search(r'name="candidate" value="([^"]+)"', found.text).group(1)
    offered = await post_form(client, "/signup/address", {"q": address, "candidate": candidate})
    assert offered.status_code == 422
    joined = await post_form(client, "/signup/address", {"q": address, "candidate": candidate, "join_waitlist": "1"})
    assert joined.status_code == 303
    return field_error(offered.text, "candidate"), _page_text((await client.get("/feed")).text)


async def test_a_neighbour_waiting_in_an_iris_is_told_its_name_not_a_circle(make_client, tmp_path):
    # Paris 15e and 14e have no open quartier yet; the operator loaded the IRIS and the BAN file.
    await _import(IRIS_GEOJSON)
    ban = tmp_path / "adresses-75.csv"
    ban.write_text(";".join(COLUMNS) + "\n" + LIEUVIN_ROWS, encoding="utf-8")
    await import_file(ban, remove_missing=False)
    try:
        offer, waiting = await _wait_at(make_client, "13 rue du lieuvin 75015", "fr")
        assert "Inscrivez-vous sur la liste d'attente de votre quartier « Saint-Lambert »" in offer
        assert "quartier « Saint-Lambert » se seront inscrites" in waiting
        offer, waiting = await _wait_at(make_client, "13 rue du lieuvin 75015", "en")
        assert "Join the waiting list of your neighbourhood, “Saint-Lambert”" in offer
        assert "people from “Saint-Lambert” have signed up" in waiting
        # Plaisance stands for a commune not split into IRIS: its waiting list is the commune's.
        offer, waiting = await _wait_at(make_client, "28 rue guilleminot 75014", "fr")
        assert "liste d'attente de votre commune, Paris 14e Arrondissement" in offer
        assert "personnes de votre commune, Paris 14e Arrondissement, se seront inscrites" in waiting
        for text in (offer, waiting):
            assert "800 m" not in text
    finally:
        await load_demo_addresses()


def _voisinage(tmp_path, *args):
    """The command on the engine under test: a fresh SQLite file, or the test PostgreSQL database."""
    environ = {**os.environ, "VOISINAGE_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


async def test_operator_imports_paris_data_as_published_and_iris_from_a_geopackage(tmp_path):
    # Paris Data's own properties, without the four the shared copy added.
    collection = json.loads(QUARTIERS.read_text())
    for feature in collection["features"]:
        for added in ("slug", "name", "city", "postcode"):
            del feature["properties"][added]
    published = tmp_path / "quartier_paris.geojson"
    published.write_text(json.dumps(collection))

    refused = _voisinage(tmp_path, "import-neighbourhoods", str(published))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "--name-property" in refused.stderr

    imported = _voisinage(
        tmp_path, "import-neighbourhoods", str(published), "--name-property", "l_qu", "--city", "Paris"
    )
    assert imported.returncode == 0, imported.stderr
    assert "4 quartiers importés" in imported.stdout

    iris = _voisinage(tmp_path, "import-neighbourhoods", str(IRIS_GPKG))
    assert iris.returncode == 0, iris.stderr
    assert "3 secteurs IRIS importés" in iris.stdout

    if not get_settings().is_postgres:
        import sqlite3

        database = sqlite3.connect(tmp_path / "voisinage.sqlite3")
        assert database.execute(
            "SELECT name, status FROM neighbourhood WHERE slug LIKE 'paris-%' ORDER BY name"
        ).fetchall() == [("Grenelle", "open"), ("Javel", "open"), ("Necker", "open"), ("Saint-Lambert", "open")]
        assert database.execute("SELECT count(*) FROM neighbourhood WHERE status = 'forming'").fetchone() == (3,)
    else:
        assert (
            await neighbourhoods.by_slug("paris-grenelle") is not None
            and await neighbourhoods.by_slug("iris-751156001") is not None
        )
