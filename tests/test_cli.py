"""The `voisinage` command, as an operator runs it on a fresh data folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile

import pytest

from app.settings import ROOT, get_settings


def _voisinage(data_dir, *args, env=None, sqlite=True):
    environ = {**os.environ, "VOISINAGE_DATA_DIR": str(data_dir), **(env or {})}
    if sqlite:
        environ.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_operator_sets_up_a_site_with_demo_data_admin_and_a_new_quartier(tmp_path):
    assert _voisinage(tmp_path, "migrate").returncode == 0
    first = _voisinage(tmp_path, "demo")
    assert first.returncode == 0 and "chargées" in first.stdout
    again = _voisinage(tmp_path, "demo")
    assert again.returncode == 0 and "rien à faire" in again.stdout

    weak = _voisinage(tmp_path, "createadmin", "chef@exemple.fr", "--password", "123")
    assert weak.returncode != 0 and "caractères" in weak.stderr
    made = _voisinage(tmp_path, "createadmin", "chef@exemple.fr", "--password", "une longue phrase secrète")
    assert made.returncode == 0, made.stderr

    feature = {
        "type": "Feature",
        "properties": {"slug": "lyon-croix-rousse", "name": "Croix-Rousse", "city": "Lyon", "postcode": "69004"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[4.82, 45.77], [4.84, 45.77], [4.84, 45.78], [4.82, 45.78], [4.82, 45.77]]],
        },
    }
    geojson = tmp_path / "lyon.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    imported = _voisinage(tmp_path, "import-neighbourhoods", str(geojson))
    assert imported.returncode == 0 and "1 quartiers importés" in imported.stdout

    backup = _voisinage(tmp_path, "backup", "--to", str(tmp_path / "sauvegardes"))
    assert backup.returncode == 0, backup.stderr
    with tarfile.open(backup.stdout.strip()) as archive:
        archive.extract("database.sqlite3", tmp_path / "copie")
    copy = sqlite3.connect(tmp_path / "copie" / "database.sqlite3")
    assert copy.execute("SELECT role FROM account WHERE email = 'chef@exemple.fr'").fetchone() == ("admin",)
    assert copy.execute("SELECT city FROM neighbourhood WHERE slug = 'lyon-croix-rousse'").fetchone() == ("Lyon",)
    assert copy.execute("SELECT count(*) FROM post").fetchone()[0] > 0


def test_broken_geojson_is_refused_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{pas du json")
    result = _voisinage(tmp_path, "import-neighbourhoods", str(bad))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not get_settings().is_postgres, reason="pg_dump backs up PostgreSQL only")
def test_backup_of_postgresql_is_a_pg_dump_archive(tmp_path):
    result = _voisinage(tmp_path, "backup", "--to", str(tmp_path), sqlite=False)
    assert result.returncode == 0, result.stderr
    with tarfile.open(result.stdout.strip()) as archive:
        assert archive.extractfile("database.pgdump").read(5) == b"PGDMP"


def test_operator_imports_the_addresses_of_a_departement_and_a_broken_file_is_refused(tmp_path):
    excerpt = ROOT / "tests" / "data" / "adresses-75-extrait.csv"
    first = _voisinage(tmp_path, "import-addresses", str(excerpt))
    assert first.returncode == 0, first.stderr
    assert "467 adresses importées (départements : 75), 0 disparues retirées" in first.stdout
    assert "100 %" in first.stderr or "100%" in first.stderr  # the progress bar
    again = _voisinage(tmp_path, "import-addresses", str(excerpt))
    assert "467 adresses importées" in again.stdout and "0 disparues retirées" in again.stdout
    one_street = tmp_path / "rue-monge.csv"
    lines = excerpt.read_text(encoding="utf-8").splitlines(keepends=True)
    one_street.write_text(lines[0] + "".join(line for line in lines if ";Rue Monge;" in line), encoding="utf-8")
    kept = _voisinage(tmp_path, "import-addresses", "--keep-missing", str(one_street))
    assert "130 adresses importées" in kept.stdout and "0 disparues retirées" in kept.stdout

    broken = tmp_path / "adresses-75.csv"
    broken.write_text("nom;prénom\nMartin;Claire\n", encoding="utf-8")
    refused = _voisinage(tmp_path, "import-addresses", str(broken))
    assert refused.returncode != 0
    assert "Import impossible" in refused.stderr and "colonnes manquantes" in refused.stderr
    assert "Traceback" not in refused.stderr
    copy = sqlite3.connect(tmp_path / "voisinage.sqlite3")
    assert copy.execute("SELECT count(*) FROM address").fetchone() == (467,)


def test_a_server_without_addresses_says_how_to_import_them(tmp_path):
    from tests.server import free_port

    environ = {**os.environ, "VOISINAGE_DATA_DIR": str(tmp_path)}
    environ.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "Aucune adresse importée" in line and "voisinage import-addresses" in line
