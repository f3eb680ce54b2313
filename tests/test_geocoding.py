"""Address check: what a neighbour types becomes a point, and the point decides the neighbourhood."""

from __future__ import annotations

import csv
import dataclasses
import itertools

import httpx
import pytest
from shapely.geometry import shape

from app.accounts.geocoding import (
    BanGeocoder,
    Candidate,
    DatabaseGeocoder,
    GeocoderUnavailable,
    make_geocoder,
    sign_candidate,
    unsign_candidate,
)
from app.demo import DEMO_ADDRESSES, DEMO_GEOJSON
from app.neighbourhoods import geometry
from app.settings import get_settings
from tests.ban_standin import run_ban_standin

FEATURES = {f["properties"]["slug"]: f for f in geometry.load_features(DEMO_GEOJSON)}
ROWS = list(csv.DictReader(DEMO_ADDRESSES.open(encoding="utf-8"), delimiter=";"))
# Dijon and Toulouse: rows derived from the former gazetteer's street segments (app/addresses/README.md).
DERIVED = [r for r in ROWS if r["source_position"] == "voisinage-gazetteer"]
PARIS = [r for r in ROWS if r["code_postal"].startswith("75")]

# Where each derived street belongs.
STREETS = {
    "dijon-centre": {
        "Place Darcy",
        "Rue de la Liberté",
        "Place François Rude",
        "Rue Musette",
        "Rue des Godrans",
        "Place Grangier",
        "Boulevard de Brosses",
        "Rue Monge",
        "Rue du Bourg",
        "Rue des Forges",
        "Rue de la Chouette",
        "Place de la Libération",
        "Rue Chabot-Charny",
        "Rue Jeannin",
    },
    "toulouse-arnaud-bernard": {
        "Place Arnaud-Bernard",
        "Rue Arnaud-Bernard",
        "Rue des Trois Piliers",
        "Rue des Lois",
        "Rue du Taur",
        "Place Saint-Sernin",
        "Boulevard d'Arcole",
    },
    "toulouse-saint-cyprien": {
        "Rue de la République",
        "Place Intérieure Saint-Cyprien",
        "Allées Charles de Fitte",
        "Rue Réclusane",
        "Place Olivier",
        "Rue des Teinturiers",
    },
    None: {"Avenue du Drapeau", "Boulevard des Valendons"},
}
INSIDE = {
    "dijon-centre": "12 Rue de la Liberté, 21000 Dijon",
    "toulouse-arnaud-bernard": "5 Place Arnaud-Bernard, 31000 Toulouse",
    "toulouse-saint-cyprien": "20 Rue de la République, 31300 Toulouse",
    "paris-oberkampf": "101 Rue Oberkampf, 75011 Paris",
    "paris-roquette": "60 Rue de la Roquette, 75011 Paris",
}
OUTSIDE_EVERYTHING = "5 Avenue du Drapeau, 21000 Dijon"


def neighbourhood_of(lat: float, lon: float) -> str | None:
    found = [slug for slug, f in FEATURES.items() if geometry.contains(f["geometry"], lat, lon)]
    assert len(found) <= 1, found
    return found[0] if found else None


def row_of(street: str, number: str, postcode: str = "75011") -> dict:
    return next(
        r
        for r in ROWS
        if (r["nom_voie"], r["numero"], r["rep"]) == (street, number, "") and r["code_postal"][:2] == postcode[:2]
    )


async def first(query: str) -> Candidate:
    found = await DatabaseGeocoder().search(query)
    assert found, query
    return found[0]


# Typing an address


@pytest.mark.parametrize(
    "query", ["12 r de la liberte dijon", "12 RUE DE LA LIBERTÉ", "12, r. de la Liberté 21000", "12 rue de la liberte"]
)
async def test_a_neighbour_finds_their_street_however_they_type_it(query):
    assert (await first(query)).label == "12 Rue de la Liberté, 21000 Dijon"


@pytest.mark.parametrize(
    "query, label",
    [
        ("3 pl francois-rude dijon", "3 Place François Rude, 21000 Dijon"),
        ("bd de brosses", "Boulevard de Brosses, 21000 Dijon"),
        ("8 all. charles de fitte", "8 Allées Charles de Fitte, 31300 Toulouse"),
        ("pl interieure st-cyprien", "Place Intérieure Saint-Cyprien, 31300 Toulouse"),
        ("140 r st maur", "140 Rue Saint-Maur, 75011 Paris"),
        ("7 bd d arcole", "7 Boulevard d'Arcole, 31000 Toulouse"),
        ("place darc", "Place Darcy, 21000 Dijon"),  # still typing
    ],
)
async def test_abbreviations_hyphens_and_accents_do_not_matter(query, label):
    assert (await first(query)).label == label


async def test_the_point_is_the_one_the_address_file_gives_for_that_number():
    for query, (street, number) in {
        "45 rue de la liberté dijon": ("Rue de la Liberté", "45"),
        "101 rue oberkampf": ("Rue Oberkampf", "101"),
    }.items():
        row, c = row_of(street, number, "21000" if "dijon" in query else "75011"), await first(query)
        assert (c.lat, c.lon) == (float(row["lat"]), float(row["lon"]))
        assert (c.postcode, c.city) == (row["code_postal"], row["nom_commune"].split(" ")[0])


async def test_a_number_the_street_does_not_have_offers_its_nearest_number_less_surely():
    known, beyond = await first("12 rue de la liberte dijon"), await first("900 rue de la liberte dijon")
    last = row_of("Rue de la Liberté", "90", "21000")
    assert beyond.label == "90 Rue de la Liberté, 21000 Dijon"
    assert beyond.score < known.score
    assert (beyond.lat, beyond.lon) == (float(last["lat"]), float(last["lon"]))


async def test_a_long_street_puts_each_number_where_it_is():
    assert neighbourhood_of(*_point(await first("10 rue saint-maur"))) == "paris-roquette"
    assert neighbourhood_of(*_point(await first("150 rue saint-maur"))) == "paris-oberkampf"


async def test_a_postcode_puts_its_own_streets_first():
    everywhere = {c.city for c in await DatabaseGeocoder().search("saint")}
    assert everywhere == {"Paris", "Toulouse"}
    assert (await first("saint 31000")).city == "Toulouse"
    assert (await first("saint 75011")).city == "Paris"


@pytest.mark.parametrize(
    "query", ["", "  ", "12", "ru", "xyzzy plugh", "rue", "12 rue", "Dijon", "42 boulevard qwerty"]
)
async def test_nonsense_or_too_little_finds_nothing(query):
    assert await DatabaseGeocoder().search(query) == []


async def test_the_limit_is_respected():
    assert len(await DatabaseGeocoder().search("saint", limit=1)) == 1
    assert len(await DatabaseGeocoder().search("saint", limit=2)) == 2


# The point decides the neighbourhood


def _point(c: Candidate) -> tuple[float, float]:
    return c.lat, c.lon


@pytest.mark.parametrize("street", sorted({r["nom_voie"] for r in DERIVED}))
def test_every_derived_demo_street_lies_in_its_neighbourhood(street):
    [intended] = [slug for slug, streets in STREETS.items() if street in streets]
    for row in (r for r in DERIVED if r["nom_voie"] == street):
        assert neighbourhood_of(float(row["lat"]), float(row["lon"])) == intended, (street, row["numero"])


def test_the_real_paris_streets_of_the_demo_cross_both_paris_quartiers_and_the_gaps_between():
    places = {neighbourhood_of(float(r["lat"]), float(r["lon"])) for r in PARIS}
    assert places == {"paris-oberkampf", "paris-roquette", None}


@pytest.mark.parametrize("slug, address", INSIDE.items())
async def test_an_example_address_in_each_neighbourhood(slug, address):
    assert neighbourhood_of(*_point(await first(address))) == slug


async def test_an_address_outside_every_neighbourhood():
    c = await first(OUTSIDE_EVERYTHING)
    assert c.label == OUTSIDE_EVERYTHING
    assert neighbourhood_of(c.lat, c.lon) is None
    assert neighbourhood_of(*_point(await first("50 rue saint-maur paris"))) is None  # Paris has gaps too


def test_the_demo_neighbourhoods_do_not_overlap_and_match_their_cities():
    shapes = {slug: shape(f["geometry"]) for slug, f in FEATURES.items()}
    for (a, sa), (b, sb) in itertools.combinations(shapes.items(), 2):
        assert not sa.intersects(sb), (a, b)
    cities = {r["nom_commune"].split(" ")[0] for r in ROWS}
    assert {f["properties"]["city"] for f in FEATURES.values()} <= cities
    for slug, f in FEATURES.items():
        assert geometry.contains(f["geometry"], *geometry.centre(f["geometry"]))
        min_lat, max_lat, min_lon, max_lon = geometry.bbox(f["geometry"])
        # Neighbourhood-sized: a few hundred metres to a couple of kilometres across.
        assert 200 < geometry.distance_m(min_lat, min_lon, max_lat, max_lon) < 2500, slug


@pytest.mark.parametrize(
    "feature, message",
    [
        (
            {
                "type": "Feature",
                "properties": {"slug": "x", "name": "X", "city": "C"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            },
            "postcode",
        ),
        (
            {
                "type": "Feature",
                "properties": {"slug": "x", "name": "X", "city": "C", "postcode": "1"},
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            },
            "Polygon",
        ),
        (
            {
                "type": "Feature",
                "properties": {"slug": "bowtie", "name": "X", "city": "C", "postcode": "1"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
            "bowtie",
        ),
        ({"type": "FeatureCollection", "features": []}, "no features"),
        ([1, 2], "FeatureCollection"),
    ],
)
def test_a_broken_neighbourhood_file_is_refused_clearly(feature, message):
    with pytest.raises(ValueError, match=message):
        geometry.load_features(feature)


def test_a_forming_neighbourhood_is_a_circle_around_the_waiting_neighbour():
    lat, lon, radius = 47.3313, 5.0442, 800
    circle = geometry.circle_polygon(lat, lon, radius)
    assert geometry.load_features(
        {
            "type": "Feature",
            "geometry": circle,
            "properties": {"slug": "f", "name": "F", "city": "Dijon", "postcode": "21000"},
        }
    )
    assert geometry.contains(circle, lat, lon)
    # Seven bearings that fall between the circle's 24 vertices, where the polygon is narrowest.
    near = geometry.circle_polygon(lat, lon, 0.9 * radius, points=7)["coordinates"][0]
    far = geometry.circle_polygon(lat, lon, 1.1 * radius, points=7)["coordinates"][0]
    for (lon_in, lat_in), (lon_out, lat_out) in zip(near, far, strict=False):
        assert geometry.distance_m(lat, lon, lat_in, lon_in) == pytest.approx(0.9 * radius, rel=1e-3)
        assert geometry.contains(circle, lat_in, lon_in)
        assert not geometry.contains(circle, lat_out, lon_out)


def test_distances_are_in_metres():
    assert geometry.distance_m(47.0, 5.0, 48.0, 5.0) == pytest.approx(111_195, rel=1e-3)
    assert geometry.distance_m(48.8566, 2.3522, 47.3220, 5.0415) == pytest.approx(262_000, rel=0.02)  # Paris–Dijon


# The national address service


async def test_the_national_service_is_read_into_the_same_candidates():
    local = await DatabaseGeocoder().search("12 r de la liberte dijon")
    saint_maur = await DatabaseGeocoder().search("140 rue saint-maur", limit=1)
    with run_ban_standin(known={"12 r de la liberte dijon": local, "140 rue saint-maur": saint_maur}) as url:
        found = await BanGeocoder(url).search("12 r de la liberte dijon")
        async with httpx.AsyncClient() as client:
            shared = await BanGeocoder(url, client=client).search("140 rue saint-maur", limit=1)
    assert found[0].label == "12 Rue de la Liberté, 21000 Dijon"
    assert [(c.label, c.lat, c.lon, c.postcode, c.city) for c in found] == [
        (c.label, c.lat, c.lon, c.postcode, c.city) for c in local
    ]
    assert [c.label for c in shared] == ["140 Rue Saint-Maur, 75011 Paris"]


async def test_a_bare_town_name_is_not_an_address():
    with run_ban_standin() as url:
        assert await BanGeocoder(url).search("Dijon") == []


@pytest.mark.parametrize("mode", ["error", "hang", "malformed"])
async def test_when_the_national_service_fails_the_form_is_told_so(mode):
    with run_ban_standin(mode) as url, pytest.raises(GeocoderUnavailable):
        await BanGeocoder(url, timeout=0.3).search("12 rue de la liberte dijon")


async def test_when_the_national_service_is_unreachable_the_form_is_told_so():
    with run_ban_standin() as url:
        pass  # the server is gone once the block ends
    with pytest.raises(GeocoderUnavailable):
        await BanGeocoder(url, timeout=1).search("12 rue de la liberte dijon")


def test_the_settings_choose_the_geocoder():
    settings = get_settings()
    assert isinstance(make_geocoder(settings), DatabaseGeocoder)
    assert isinstance(make_geocoder(dataclasses.replace(settings, geocoder="gazetteer")), DatabaseGeocoder)
    ban = make_geocoder(dataclasses.replace(settings, geocoder="ban", ban_url="http://127.0.0.1:9/search/"))
    assert isinstance(ban, BanGeocoder) and ban.base_url == "http://127.0.0.1:9/search/"
    with pytest.raises(ValueError):
        make_geocoder(dataclasses.replace(settings, geocoder="google"))


# The chosen candidate comes back through the form


async def test_a_chosen_candidate_comes_back_intact():
    c = await first("12 r de la liberte dijon")
    back = unsign_candidate(sign_candidate(c, "secret"), "secret")
    assert (back.label, back.lat, back.lon, back.postcode, back.city) == (c.label, c.lat, c.lon, c.postcode, c.city)


async def test_a_tampered_candidate_is_refused():
    value = sign_candidate(await first("12 r de la liberte dijon"), "secret")
    moved = sign_candidate(await first("60 rue de la roquette paris"), "other secret")
    middle = len(value) // 2
    for forged in (
        value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :],
        value[:-2],
        moved,
        "",
        "!!!",
        "e30",
    ):
        assert unsign_candidate(forged, "secret") is None, forged
    assert unsign_candidate(value, "another secret") is None
