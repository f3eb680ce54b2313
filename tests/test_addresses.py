"""Every address in France: an operator imports the BAN export of a département, neighbours find their address
however they type it, and a newer export replaces the old one without breaking anyone's account."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from app.accounts import queries as accounts
from app.addresses.importer import BanFileError, import_file
from app.addresses.search import search
from app.addresses.tables import Address, AddressWay
from app.neighbourhoods import queries as neighbourhoods
from tests.factories import field_error, load_demo_addresses, post_form

EXCERPT = Path(__file__).parent / "data" / "adresses-75-extrait.csv"
HEADER, *LINES = EXCERPT.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.fixture(autouse=True)
async def demo_addresses_afterwards():
    """Each story starts from the demo's addresses and leaves them as it found them."""
    yield
    await load_demo_addresses()


def _line(ban_id: str) -> str:
    return next(line for line in LINES if line.startswith(ban_id + ";"))


def _moved(line: str, lon: str, lat: str) -> str:
    fields = line.split(";")
    fields[12], fields[13] = lon, lat
    return ";".join(fields)


async def _labels(query: str, limit: int = 5) -> list[str]:
    return [f.label for f in await search(query, limit)]


async def _paris_rows() -> int:
    rows = await Address.raw(
        "SELECT count(*) AS n FROM address a JOIN address_way w ON w.id = a.way WHERE w.department = '75'"
    )
    return rows[0]["n"]


async def test_the_ban_export_of_paris_is_imported_with_its_quirks():
    report = await import_file(EXCERPT)
    assert (report.rows, report.skipped, report.departments) == (467, 0, {"75"})
    assert await _paris_rows() == 467
    # The 16e's second postcode, Paris's own suffix codes, a street named after one of its numbers.
    assert await _labels("29bis av pierre ier de serbie 75116", 1) == [
        "29 bis Avenue Pierre Ier de Serbie, 75116 Paris"
    ]
    assert "29 S Rue du Quatre Septembre, 75002 Paris" in await _labels("29s rue du quatre septembre")
    assert await _labels("11p4 rue saint blaise paris", 1) == ["11 P4 Rue Saint-Blaise, 75020 Paris"]
    assert await AddressWay.count().where(AddressWay.name.like("11P4%")) == 0
    # A way without FANTOIR code is a way like the others.
    [lemonnier] = await search("3 avenue du général lemonnier", 1)
    assert (lemonnier.lat, lemonnier.lon) == (48.861516, 2.330265)


async def test_the_same_file_compressed_gives_the_same_addresses(tmp_path):
    compressed = tmp_path / "adresses-75.csv.gz"
    compressed.write_bytes(gzip.compress(EXCERPT.read_bytes()))
    report = await import_file(compressed)
    assert report.rows == 467 and await _paris_rows() == 467


async def test_a_newer_file_moves_and_removes_addresses_and_the_neighbours_who_lived_there_keep_their_account(
    client, tmp_path
):
    # Amina signs up at a demo address of Paris 11e, which the newer Paris file will not hold.
    await post_form(
        client,
        "/signup",
        {
            "first_name": "Amina",
            "last_name": "Diallo",
            "email": "amina.ban@exemple.fr",
            "password": "les tilleuls de la place",
        },
    )
    found = await client.get("/signup/address", params={"q": "140 rue saint-maur paris"})
    candidate = re.search(r'name="candidate" value="([^"]+)"', found.text).group(1)
    done = await post_form(client, "/signup/address", {"q": "140 rue saint-maur paris", "candidate": candidate})
    assert done.status_code == 303

    first = await import_file(EXCERPT)
    assert first.removed > 1000  # the demo's Paris rows: a département file is the whole département
    newer = tmp_path / "adresses-75.csv"
    thirteen, twenty_seven = "75107_9597_00013", "75107_9597_00027"
    newer.write_text(
        HEADER
        + "".join(
            _moved(line, "2.320000", "48.855000") if line.startswith(thirteen + ";") else line
            for line in LINES
            if not line.startswith(twenty_seven + ";")
        ),
        encoding="utf-8",
    )
    report = await import_file(newer)

    assert (report.rows, report.removed) == (466, 1)
    assert await _paris_rows() == 466
    [moved] = await search("13 rue de varenne paris", 1)
    assert (moved.label, moved.lat, moved.lon) == ("13 Rue de Varenne, 75007 Paris", 48.855, 2.32)
    assert "27 Rue de Varenne, 75007 Paris" not in await _labels("27 rue de varenne paris")
    assert not any("75011" in label for label in await _labels("140 rue saint-maur 75011"))
    # Other départements are not the Paris file's business.
    assert await _labels("12 rue de la liberte dijon", 1) == ["12 Rue de la Liberté, 21000 Dijon"]

    user = await accounts.user_by_email("amina.ban@exemple.fr")
    oberkampf = await neighbourhoods.by_slug("paris-oberkampf")
    assert (user.address_label, user.neighbourhood) == ("140 Rue Saint-Maur, 75011 Paris", oberkampf.id)
    feed = await client.get("/feed")
    assert feed.status_code == 200 and "Oberkampf" in feed.text


async def test_a_first_import_into_an_empty_database_gives_the_same_addresses_even_after_a_broken_one(tmp_path):
    # A new installation: no address yet (on PostgreSQL the import then builds its indexes once, at the end).
    await Address.delete(force=True)
    await AddressWay.delete(force=True)
    broken = tmp_path / "adresses-75.csv.gz"
    whole = gzip.compress(EXCERPT.read_bytes())
    broken.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(BanFileError, match="illisible"):
        await import_file(broken, batch=100)

    # The whole export, which repeats an id: its last row is the address, as on any later import.
    thirteen = _line("75107_9597_00013")
    repeated = tmp_path / "adresses-75.csv"
    repeated.write_text(HEADER + "".join(LINES) + _moved(thirteen, "2.320000", "48.855000"), encoding="utf-8")
    report = await import_file(repeated, batch=100)
    assert (report.rows, await Address.count()) == (468, 467)
    [moved] = await search("13 rue de varenne paris", 1)
    assert (moved.label, moved.lat, moved.lon) == ("13 Rue de Varenne, 75007 Paris", 48.855, 2.32)
    assert await _labels("29bis av pierre ier de serbie 75116", 1) == [
        "29 bis Avenue Pierre Ier de Serbie, 75116 Paris"
    ]

    # The same file again: every address updated in place, none twice.
    again = await import_file(EXCERPT)
    assert (again.rows, again.removed, await Address.count()) == (467, 0, 467)
    [back] = await search("13 rue de varenne paris", 1)
    assert (back.lat, back.lon) != (48.855, 2.32)


async def test_an_export_broken_half_way_removes_nothing(tmp_path):
    await import_file(EXCERPT)
    broken = tmp_path / "adresses-75.csv.gz"
    whole = gzip.compress(EXCERPT.read_bytes())
    broken.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(BanFileError, match="illisible"):
        await import_file(broken, batch=100)
    assert await _paris_rows() == 467


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "vide"),
        ("nom;prénom\nMartin;Claire\n".encode(), "colonnes manquantes"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "n'est pas un export"),
    ],
)
async def test_a_file_that_is_not_a_ban_export_is_refused_clearly(tmp_path, content, message):
    path = tmp_path / "adresses.csv"
    path.write_bytes(content)
    with pytest.raises(BanFileError, match=message):
        await import_file(path)
    assert await _labels("101 rue oberkampf paris", 1) == ["101 Rue Oberkampf, 75011 Paris"]


# Typing an address the way people do: the right one is among the first three.
MISSPELLINGS = [
    ("12 r de la liberte dijon", "12 Rue de la Liberté, 21000 Dijon"),  # abbreviation, no accent
    ("12 rue de la libertée 21000", "12 Rue de la Liberté, 21000 Dijon"),  # added letter, postcode, no town
    ("12 rue de la libreté dijon", "12 Rue de la Liberté, 21000 Dijon"),  # swapped letters
    ("12 rue de la libete", "12 Rue de la Liberté, 21000 Dijon"),  # dropped letter, neither postcode nor town
    ("12bis rue Monge", "12 Rue Monge, 21000 Dijon"),  # a bis the file does not know
    ("20bis rue monge", "20 bis Rue Monge, 75005 Paris"),  # glued suffix
    ("20 b r monge 75005", "20 bis Rue Monge, 75005 Paris"),
    ("5 av du drapeau", "5 Avenue du Drapeau, 21000 Dijon"),
    ("101 oberkampf paris", "101 Rue Oberkampf, 75011 Paris"),  # no street type
    ("101 rue oberkamf", "101 Rue Oberkampf, 75011 Paris"),
    ("60 rue de la roquete 75011", "60 Rue de la Roquette, 75011 Paris"),
    ("27 r de vaernne 75007", "27 Rue de Varenne, 75007 Paris"),
    ("27 rue de varenne paris 7", "27 Rue de Varenne, 75007 Paris"),  # the arrondissement as a number
    ("4 rue du 4 septembre", "4 Rue du Quatre Septembre, 75002 Paris"),
    ("1 av du gal lemonnier", "1 Avenue du Général Lemonnier, 75001 Paris"),
    ("3 pl maurice couve de murville", "1 V Place Maurice Couve de Murville, 75008 Paris"),  # nearest number
    ("140 r st maur 75011", "140 Rue Saint-Maur, 75011 Paris"),
    ("5 place arnaud bernard toulouse", "5 Place Arnaud-Bernard, 31000 Toulouse"),
    ("20 rue de la republique 31300", "20 Rue de la République, 31300 Toulouse"),
]


@pytest.mark.parametrize("query, label", MISSPELLINGS)
async def test_a_misspelt_address_is_among_the_first_three(query, label):
    await import_file(EXCERPT, remove_missing=False)  # Paris's excerpt beside the demo's streets
    assert label in await _labels(query, 3)


async def test_the_signup_form_finds_an_imported_address(client):
    await import_file(EXCERPT, remove_missing=False)
    await post_form(
        client,
        "/signup",
        {
            "first_name": "Jules",
            "last_name": "Roy",
            "email": "jules.ban@exemple.fr",
            "password": "les tilleuls de la place",
        },
    )
    fragment = await client.get("/signup/address", params={"q": "20bis rue monge"}, headers={"HX-Request": "true"})
    assert "20 bis Rue Monge, 75005 Paris" in fragment.text
    nothing = await post_form(client, "/signup/address", {"q": "20bis rue mongolfier lyon"})
    assert "Adresse introuvable" in field_error(nothing.text, "q")


async def test_a_quoted_name_holding_a_semicolon_is_read_whole(tmp_path):
    # The export quotes a field only when it must; such a row goes through the csv module.
    line = _line("75105_6432_00001").replace(";Rue Monge;", ';"Rue Monge; dite ""la Montagne""";', 1)
    path = tmp_path / "adresses-75.csv"
    path.write_text(HEADER + line, encoding="utf-8")
    await import_file(path, remove_missing=False)
    assert 'Rue Monge; dite "la Montagne", 75005 Paris' in " ".join(await _labels("1 rue monge dite la montagne"))
