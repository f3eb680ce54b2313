"""A full disk and a data dir that cannot be written: the neighbour and the
operator are told plainly, and nothing is left half-saved.

The disks are small tmpfs mounts (the tests run as root); where mounting is
not permitted the tests skip and say why.
"""

from __future__ import annotations

import errno
import io
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from app import space
from app.posts.tables import Post
from app.settings import ROOT, get_settings
from tests.factories_posts import jpeg_bytes, neighbours, publish, signed_in
from tests.server import ServerProcess, free_port, signed_in_on

FULL = "Le serveur manque de place, réessayez plus tard"


@contextmanager
def small_disk(size: str):
    path = Path(tempfile.mkdtemp(prefix="voisinage-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode:
        path.rmdir()
        pytest.skip(f"a small tmpfs cannot be mounted here (root needed): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)
        path.rmdir()


def fill(disk: Path) -> Path:
    """Writes a file until the disk has not one byte left; deleting it frees the space."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (b"\0" * (1 << 20), b"\0" * 4096, b"\0"):
            try:
                while True:
                    fh.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def copy_sqlite_database(disk: Path) -> None:
    """The test database, neighbours included, becomes the server's (SQLite's online backup)."""
    source = sqlite3.connect(get_settings().sqlite_path)
    target = sqlite3.connect(disk / "voisinage.sqlite3")
    with target:
        source.backup(target)
    source.close()
    target.close()


def _annonce(title: str) -> dict:
    return {"kind": "lend", "title": title, "body": "Bon état, à venir chercher.", "loan_days": "7"}


def _photo() -> list:
    return [("photos", ("tondeuse.jpg", jpeg_bytes(1600, 1200), "image/jpeg"))]


def _photo_over_1_mb() -> list:
    """Spooled to the data dir while it arrives (app.uploads), on either engine."""
    out = io.BytesIO()
    Image.frombytes("RGB", (1400, 1000), os.urandom(1400 * 1000 * 3)).save(out, "JPEG", quality=90)
    return [("photos", ("tondeuse.jpg", out.getvalue(), "image/jpeg"))]


@pytest.mark.server
async def test_a_full_disk_refuses_a_new_post_in_french_and_loses_nothing():
    _neighbourhood, (claire,) = await neighbours(1)
    sqlite = not get_settings().is_postgres
    with small_disk("16m") as disk:
        if sqlite:
            copy_sqlite_database(disk)
        server = ServerProcess({"VOISINAGE_DATA_DIR": str(disk)})
        try:
            client = await signed_in_on(server.url, claire)
            assert (await publish(client, _annonce("Perceuse à prêter"), _photo())).status_code == 303
            assert (await client.get("/healthz")).status_code == 200

            filler = fill(disk)
            refused = [await publish(client, _annonce("Tondeuse à prêter"), _photo_over_1_mb())]
            if sqlite:  # without a photo, it is the database that has no room
                refused.append(await publish(client, _annonce("Tondeuse à prêter")))
            for answer in refused:
                assert answer.status_code == 503 and FULL in answer.text, answer.text[:2000]
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.json()["disk"] == "full"

            filler.unlink()
            assert (await client.get("/healthz")).status_code == 200
            feed = (await client.get("/feed")).text
            assert "Perceuse à prêter" in feed and "Tondeuse" not in feed
            # The first post's photo, from the database; nothing of either photo on disk.
            [cover] = re.findall(r'src="(/photos/[^"]+/small)"', feed)
            assert (await client.get(cover)).status_code == 200
            assert not (disk / "uploads" / "photos").exists()

            assert (await publish(client, _annonce("Tondeuse à prêter"), _photo())).status_code == 303
            assert "Tondeuse à prêter" in (await client.get("/feed")).text
            await client.aclose()
        finally:
            server.stop()
    assert "Traceback" not in server.output() and "cannot rollback" not in server.output()


def _serve(data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "VOISINAGE_DATA_DIR": str(data_dir), "VOISINAGE_BACKGROUND_WORK": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.server
def test_serve_stops_at_once_naming_a_data_dir_it_cannot_write():
    """The data dir of an earlier run (its SQLite database), mounted read-only."""
    with small_disk("8m") as disk:
        env = {**os.environ, "VOISINAGE_DATA_DIR": str(disk)}
        subprocess.run([sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        started = time.monotonic()
        server = _serve(disk)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
            pytest.fail(f"voisinage serve still runs after 30 s with a read-only data dir:\n{output[-2000:]}")
        elapsed = time.monotonic() - started
    assert server.returncode != 0 and elapsed < 15
    assert f"Le dossier de données {disk} n'est pas accessible en écriture" in output
    assert "Traceback" not in output


@pytest.fixture
async def full_database_disk():
    """PostgreSQL's own disk full: posts are made to write a row on a tablespace
    on a tiny tmpfs (a trigger), then that disk is filled, so PostgreSQL itself
    answers "could not extend file" (SQLSTATE 53100)."""
    from app.piccolo_conf import DB

    if not get_settings().is_postgres:
        pytest.skip("PostgreSQL's own disk; SQLite's is the data dir, filled in the test above")
    with small_disk("1m") as disk:
        subprocess.run(["chown", "postgres", str(disk)], check=False)
        try:
            await DB._run_in_new_connection(f"CREATE TABLESPACE voisinage_tiny LOCATION '{disk}'")
        except Exception as exc:  # noqa: BLE001 - a remote server or a role without the right
            pytest.skip(f"no tablespace on a local tmpfs with this PostgreSQL server: {exc}")
        statements = [
            "CREATE TABLE post_disk (note text) TABLESPACE voisinage_tiny",
            "CREATE FUNCTION post_needs_disk() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO post_disk VALUES (NEW.title); RETURN NEW; END $$",
            "CREATE TRIGGER post_needs_disk BEFORE INSERT ON post FOR EACH ROW EXECUTE FUNCTION post_needs_disk()",
        ]
        try:
            for statement in statements:
                await DB._run_in_new_connection(statement)
            yield fill(disk)
        finally:
            for statement in (
                "DROP TRIGGER IF EXISTS post_needs_disk ON post",
                "DROP FUNCTION IF EXISTS post_needs_disk()",
                "DROP TABLE IF EXISTS post_disk",
                "DROP TABLESPACE voisinage_tiny",
            ):
                await DB._run_in_new_connection(statement)


async def test_postgresql_out_of_disk_answers_503_in_french_and_saves_nothing(
    make_client, full_database_disk, monkeypatch
):
    monkeypatch.setattr(space, "_database_full_at", None)
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    refused = await publish(client, _annonce("Tondeuse à prêter"))
    assert refused.status_code == 503 and FULL in refused.text
    assert await Post.count().where(Post.author == claire.id) == 0
    # PostgreSQL's disk may be on another machine: its last "full" is remembered a while.
    assert (await client.get("/healthz")).status_code == 503

    full_database_disk.unlink()
    monkeypatch.setattr(space, "DATABASE_FULL_FOR", 0.0)
    assert (await client.get("/healthz")).status_code == 200
    assert (await publish(client, _annonce("Tondeuse à prêter"))).status_code == 303
    assert await Post.count().where(Post.author == claire.id) == 1
