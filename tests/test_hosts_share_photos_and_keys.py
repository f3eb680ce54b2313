"""Two app processes, each with its own data directory, one database: what
one host was given, the other serves, and they sign with the same keys.

The processes are real `voisinage serve` processes (tests/server.py). On
PostgreSQL they share the test database; on SQLite they share its file
(`DATABASE_URL=sqlite:///…`), each data directory then only a cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from PIL import Image

from app.posts.tables import Photo, PhotoBlob
from app.settings import ROOT, get_settings
from tests.factories import PASSWORD, csrf, post_form
from tests.factories_posts import neighbours, publish, unique_jpeg
from tests.server import ServerProcess, signed_in_on

pytestmark = pytest.mark.server


def _database_url() -> str:
    settings = get_settings()
    return settings.database_url if settings.is_postgres else f"sqlite:///{settings.sqlite_path}"


def _host(data_dir: Path, database_url: str, **env: str) -> ServerProcess:
    return ServerProcess({"VOISINAGE_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, **env})


@pytest.fixture
def two_hosts(tmp_path):
    hosts = [_host(tmp_path / name, _database_url()) for name in ("a", "b")]
    yield hosts
    for host in hosts:
        host.stop()


def _files_in(data_dir: Path) -> list[str]:
    return [p.name for p in data_dir.rglob("*") if p.is_file() and not p.name.endswith(".log")]


async def test_a_photo_sent_to_one_host_is_served_by_the_other_exported_and_erased_with_its_author(two_hosts, tmp_path):
    a, b = two_hosts
    _hood, (claire, paul) = await neighbours(2)
    _other, (stranger,) = await neighbours(1)
    claire_on_a = await signed_in_on(a.url, claire)
    done = await publish(
        claire_on_a,
        {"kind": "give", "title": "Table de jardin", "body": "Avec ses quatre chaises"},
        files=[("photos", ("table.jpg", unique_jpeg(1600, 1200), "image/jpeg"))],
    )
    assert done.status_code == 303, done.text
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    photo = await Photo.select(Photo.name, Photo.large, Photo.thumb).where(Photo.post == post_id).first()
    url = f"/photos/{photo['name']}/large"

    paul_on_b = await signed_in_on(b.url, paul)
    page = await paul_on_b.get(f"/posts/{post_id}")
    assert page.status_code == 200 and f"/photos/{photo['name']}/thumb" in page.text
    shown = await paul_on_b.get(url)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/webp"
    assert shown.headers["etag"] == f'"{hashlib.sha256(shown.content).hexdigest()}"'
    assert (await paul_on_b.get(url, headers={"If-None-Match": shown.headers["etag"]})).status_code == 304
    stranger_on_b = await signed_in_on(b.url, stranger)
    assert (await stranger_on_b.get(url)).status_code == 404
    # Received by one host, kept by neither: nothing of it in their data directories.
    assert not [name for name in _files_in(tmp_path) if name.endswith(".webp")]

    claire_on_b = await signed_in_on(b.url, claire)
    export = await claire_on_b.get("/settings/export")
    assert zipfile.ZipFile(io.BytesIO(export.content)).read(f"photos/{photo['name']}.webp") == shown.content

    erased = await post_form(claire_on_b, "/settings/delete", {"password": PASSWORD, "confirm": "1"})
    assert erased.status_code == 303
    assert (await paul_on_b.get(url)).status_code == 404
    assert (await (await signed_in_on(a.url, paul)).get(url)).status_code == 404
    assert await PhotoBlob.count().where(PhotoBlob.hash.is_in([photo["large"], photo["thumb"]])) == 0
    for client in (claire_on_a, paul_on_b, stranger_on_b, claire_on_b):
        await client.aclose()


@pytest.fixture
async def empty_database(tmp_path):
    """A database of its own, with nothing in it, on the engine under test."""
    if not get_settings().is_postgres:
        yield f"sqlite:///{tmp_path / 'shared' / 'voisinage.sqlite3'}"
        return
    import asyncpg

    server = urlsplit(get_settings().database_url)
    name = f"{server.path.lstrip('/')}_empty"
    admin = await asyncpg.connect(get_settings().database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(server._replace(path=f"/{name}"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _voisinage(data_dir: Path, database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("VOISINAGE_SECRET_KEY", "VOISINAGE_VAPID_PRIVATE_KEY")}
    environ.update(VOISINAGE_DATA_DIR=str(data_dir), DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


async def _rows(database_url: str, sql: str) -> list[tuple]:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def test_two_hosts_started_together_on_an_empty_database_agree_on_their_keys(empty_database, tmp_path):
    # Migrated and given its administrator first (what starting together
    # does to the migrations is a matter of its own): no key exists yet.
    made = _voisinage(tmp_path / "admin", empty_database, "createadmin", "chef@exemple.fr", "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    assert await _rows(empty_database, "SELECT name FROM instance_key") == []

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda name: _host(tmp_path / name, empty_database), ("a", "b"))
    try:
        async with httpx.AsyncClient(timeout=30) as browser:
            # The form comes from one host and is posted to the other: its CSRF token holds.
            await browser.get(f"{a.url}/login")
            answer = await browser.post(
                f"{b.url}/login",
                data={"_csrf_token": csrf(browser), "email": "chef@exemple.fr", "password": PASSWORD},
            )
            assert answer.status_code == 303, answer.text[:500]
            keys = [(await browser.get(f"{host.url}/push/key")).json()["key"] for host in (a, b)]
    finally:
        a.stop()
        b.stop()
    assert keys[0] == keys[1]
    vapid = _voisinage(tmp_path / "c", empty_database, "vapid")
    assert vapid.returncode == 0 and vapid.stdout.strip() == keys[0]
    assert sorted(await _rows(empty_database, "SELECT name FROM instance_key")) == [
        ("secret_key",),
        ("vapid_private_key",),
    ]
    # Nothing of the keys in the hosts' data directories.
    assert not {"secret_key", "vapid_private.pem"} & set(_files_in(tmp_path))


async def test_keys_given_in_the_environment_win_and_are_not_written(empty_database, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from webpush.vapid import VAPID

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    given = _voisinage(tmp_path, empty_database, "vapid", VOISINAGE_VAPID_PRIVATE_KEY=pem)
    assert given.returncode == 0, given.stderr
    assert given.stdout.strip() == VAPID.get_application_server_key(key.public_key())
    # Only the key the environment did not give was made.
    assert await _rows(empty_database, "SELECT name FROM instance_key") == [("secret_key",)]


def _at_migration_0010(data_dir: Path, database_url: str, statements: list[str]) -> None:
    """An installation of the version before photos and keys moved into the database, with these rows."""
    script = (
        "import asyncio, json, sys\n"
        "from piccolo.apps.migrations.commands.forwards import run_forwards\n"
        "from app.piccolo_conf import DB\n"
        "async def main():\n"
        "    await DB.start_connection_pool()\n"
        "    await run_forwards(app_name='voisinage', migration_id='2026-12-01T19:00:00:000000')\n"
        "    for statement in json.loads(sys.argv[1]):\n"
        "        await DB.run_ddl(statement)\n"
        "    await DB.close_connection_pool()\n"
        "asyncio.run(main())\n"
    )
    environ = {**os.environ, "VOISINAGE_DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(statements)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _webp(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "WEBP", quality=80)
    return out.getvalue()


async def test_an_upgrade_moves_the_photos_and_keys_of_the_data_dir_into_the_database(empty_database, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from webpush.vapid import VAPID

    old = tmp_path / "data"
    _at_migration_0010(
        old,
        empty_database,
        [
            "INSERT INTO neighbourhood (slug, name, city, postcode, boundary, min_lat, max_lat, min_lon, max_lon, "
            "centre_lat, centre_lon, status, requires_verification, member_count, created_at) "
            "VALUES ('ici', 'Ici', 'Ville', '00000', '{}', 0, 1, 0, 1, 0.5, 0.5, 'open', FALSE, 0, '2026-01-01')",
            "INSERT INTO post (neighbourhood, kind, title, body, status, details, pinned, locked, hidden_reason, "
            "reply_count, photo_count, cover, cover_width, cover_height, created_at, updated_at) "
            "VALUES (1, 'give', 'Commode', 'En chêne', 'open', '{}', FALSE, FALSE, '', 0, 2, 'kept', 48, 32, "
            "'2026-01-01', '2026-01-01')",
            "INSERT INTO photo (post, name, width, height, thumb_width, thumb_height, position, created_at) "
            "VALUES (1, 'kept', 96, 64, 48, 32, 0, '2026-01-01'), (1, 'lost', 96, 64, 48, 32, 1, '2026-01-01')",
        ],
    )
    photos = old / "uploads" / "photos"
    photos.mkdir(parents=True)
    large, thumb = _webp((200, 40, 40), (96, 64)), _webp((200, 40, 40), (48, 32))
    (photos / "kept.webp").write_bytes(large)
    (photos / "kept_t.webp").write_bytes(thumb)
    (old / "secret_key").write_text("le-secret-des-codes-deja-imprimes\n")
    vapid = ec.generate_private_key(ec.SECP256R1())
    (old / "vapid_private.pem").write_bytes(
        vapid.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

    upgraded = _voisinage(old, empty_database, "migrate")
    assert upgraded.returncode == 0, upgraded.stderr
    # The photo whose files were already gone is named by its number only.
    assert "photo 2: its files are missing" in upgraded.stderr
    assert "lost" not in upgraded.stderr + upgraded.stdout

    digests = [hashlib.sha256(large).hexdigest(), hashlib.sha256(thumb).hexdigest()]
    assert await _rows(empty_database, "SELECT name, large, thumb FROM photo ORDER BY id") == [
        ("kept", *digests),
        ("lost", None, None),
    ]
    stored = await _rows(empty_database, "SELECT hash, data FROM photo_blob ORDER BY hash")
    assert sorted((digest, bytes(data)) for digest, data in stored) == sorted(
        [(digests[0], large), (digests[1], thumb)]
    )
    assert await _rows(empty_database, "SELECT value FROM instance_key WHERE name = 'secret_key'") == [
        ("le-secret-des-codes-deja-imprimes",)
    ]
    # Pushes stay signed with the key the subscriptions were made for.
    key = _voisinage(tmp_path / "other", empty_database, "vapid")
    assert key.stdout.strip() == VAPID.get_application_server_key(vapid.public_key())
    # Once in the database, nothing of it stays in the data dir.
    assert _files_in(old) == []
