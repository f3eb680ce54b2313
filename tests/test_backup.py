"""`voisinage backup` and `voisinage restore`, as an operator runs them: one
owner-only file, restored on a second installation that then serves the same
quartier; nothing replaced by mistake, nothing foreign or altered let in."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from app.posts.tables import Photo, Post
from app.settings import ROOT, get_settings
from tests.factories import post_form
from tests.factories_posts import jpeg_bytes, make_post, neighbours, publish, signed_in
from tests.server import ServerProcess, signed_in_on

POSTGRES = get_settings().is_postgres


def _voisinage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Installation:
    """A second Voisinage: its own data directory and, on PostgreSQL, its own database."""

    data_dir: Path
    database_url: str  # "" on SQLite: the database is the data directory's file

    @property
    def env(self) -> dict[str, str]:
        return {"VOISINAGE_DATA_DIR": str(self.data_dir), "DATABASE_URL": self.database_url}

    async def scalar(self, sql: str):
        if not self.database_url:
            with sqlite3.connect(self.data_dir / "voisinage.sqlite3") as db:
                return db.execute(sql).fetchone()[0]
        connection = await asyncpg.connect(self.database_url)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    async def is_empty(self) -> bool:
        if not self.database_url:
            return not (self.data_dir / "voisinage.sqlite3").exists()
        return await self.scalar("SELECT to_regclass('account') IS NULL")


@pytest.fixture
async def elsewhere(tmp_path):
    if not POSTGRES:
        yield Installation(tmp_path / "ailleurs", "")
        return
    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/") + "_restore"
    admin = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield Installation(tmp_path / "ailleurs", urlunsplit(url._replace(path=f"/{name}")))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _backup(folder: Path) -> Path:
    made = _voisinage("backup", "--to", str(folder))
    assert made.returncode == 0, made.stderr
    return Path(made.stdout.strip())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _visible(response) -> str:
    """What a reader sees of a page's main part: its text, whatever the time it is read at."""
    assert response.status_code == 200, response.status_code
    main = re.search(r"<main\b.*</main>", response.text, re.S).group(0)
    main = re.sub(r"<time\b[^>]*>.*?</time>", "", main, flags=re.S)
    main = re.sub(r'<input type="hidden" name="_csrf_token"[^>]*>', "", main)
    # The post's link to share names the installation's own address.
    main = re.sub(r'(<input id="share-url"[^>]*value=")[^"]*/posts/', r"\1/posts/", main)
    return re.sub(r"\s+", " ", main)


async def test_a_quartier_restored_on_a_second_installation_looks_the_same(make_client, tmp_path, elsewhere):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_here = await signed_in(make_client, claire)
    published = await publish(
        claire_here,
        {"kind": "give", "title": "Escabeau à donner", "body": "Trois marches, léger, à prendre rue des Tilleuls."},
        files=[("photos", ("IMG_2207.JPG", jpeg_bytes(1600, 1200), "image/jpeg"))],
    )
    post = published.headers["location"]
    post_id = int(post.rsplit("/", 1)[1])
    paul_here = await signed_in(make_client, paul)
    await post_form(paul_here, f"{post}/replies", {"body": "Je peux passer le prendre samedi ?"})
    sent = await post_form(
        paul_here, "/messages", {"to": str(claire.id), "post": str(post_id), "body": "Je sonne à 10 h, ça vous va ?"}
    )
    conversation = sent.headers["location"].split("#")[0]
    photo = f"/photos/{(await Photo.select(Photo.name).where(Photo.post == post_id).first())['name']}/large"
    push_key = _voisinage("vapid").stdout

    made = _voisinage("backup", "--to", str(tmp_path / "sauvegardes"))
    assert made.returncode == 0, made.stderr
    archive = Path(made.stdout.strip())
    assert archive.parent == tmp_path / "sauvegardes" and archive.suffix == ".tar"
    assert _mode(archive) == 0o600 and _mode(archive.parent) == 0o700
    assert claire.email not in made.stdout + made.stderr and "Claire" not in made.stdout + made.stderr

    restored = _voisinage("restore", str(archive), env=elsewhere.env)
    assert restored.returncode == 0, restored.stderr
    assert "restaurée" in restored.stdout and claire.email not in restored.stdout + restored.stderr
    for folder, _dirs, files in os.walk(elsewhere.data_dir):
        assert _mode(Path(folder)) == 0o700, folder
        for name in files:
            assert _mode(Path(folder) / name) == 0o600, name

    server = ServerProcess(elsewhere.env)
    try:
        claire_there = await signed_in_on(server.url, claire)
        paul_there = await signed_in_on(server.url, paul)
        for reader_there, reader_here, page in (
            (claire_there, claire_here, "/feed"),
            (paul_there, paul_here, post),
            (claire_there, claire_here, conversation),
        ):
            assert _visible(await reader_there.get(page)) == _visible(await reader_here.get(page)), page
        assert "Je peux passer le prendre samedi ?" in (await paul_there.get(post)).text
        assert "Je sonne à 10 h" in (await claire_there.get(conversation)).text
        image = await paul_there.get(photo)
        assert image.status_code == 200 and image.content == (await paul_here.get(photo)).content
        await claire_there.aclose()
        await paul_there.aclose()
    finally:
        server.stop()
    # Pushes stay signed with the key browsers subscribed with.
    assert _voisinage("vapid", env=elsewhere.env).stdout == push_key


async def test_a_restore_over_data_is_refused_unless_the_operator_says_yes(tmp_path, elsewhere):
    _neighbourhood, (claire,) = await neighbours(1)
    await make_post(claire, title="Annonce d'avant la sauvegarde")
    archive = _backup(tmp_path)
    later = await make_post(claire, title="Annonce d'après la sauvegarde")

    # By mistake, onto the database in use: refused, and nothing is lost.
    refused = _voisinage("restore", str(archive))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "contient déjà des données" in refused.stderr and "--yes" in refused.stderr
    assert await Post.exists().where(Post.id == later)

    assert _voisinage("restore", str(archive), env=elsewhere.env).returncode == 0
    made = _voisinage("createadmin", "chef@exemple.fr", "--password", "une longue phrase secrète", env=elsewhere.env)
    assert made.returncode == 0, made.stderr
    again = _voisinage("restore", str(archive), env=elsewhere.env)
    assert again.returncode != 0 and "contient déjà des données" in again.stderr
    assert await elsewhere.scalar("SELECT count(*) FROM account WHERE email = 'chef@exemple.fr'") == 1

    replaced = _voisinage("restore", "--yes", str(archive), env=elsewhere.env)
    assert replaced.returncode == 0, replaced.stderr
    assert await elsewhere.scalar("SELECT count(*) FROM account WHERE email = 'chef@exemple.fr'") == 0
    titles = "SELECT count(*) FROM post WHERE title LIKE 'Annonce d''%la sauvegarde'"
    assert await elsewhere.scalar(titles) == 1


def _rewritten(archive: Path, out: Path, *, manifest=None, extra: dict[str, bytes] | None = None) -> Path:
    """The backup with its manifest changed by `manifest(m)` and `extra` members added."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == "manifest.json" and manifest:
                content = json.loads(data)
                manifest(content)
                data = json.dumps(content).encode()
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return out


def _sha256_listed(name: str, data: bytes):
    def change(manifest: dict) -> None:
        manifest["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    return change


async def test_a_foreign_or_altered_file_is_refused_with_a_clear_message(tmp_path, elsewhere):
    archive = _backup(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("Liste des voisins à inviter\n")
    other_tar = tmp_path / "photos.tar"
    with tarfile.open(other_tar, "w") as tar:
        tar.add(notes, "notes.txt")
    altered = tmp_path / "altered.tar"
    altered.write_bytes(archive.read_bytes())
    with tarfile.open(archive) as tar:
        database = next(m for m in tar if m.name.startswith("database."))
    with altered.open("r+b") as file:
        file.seek(database.offset_data + database.size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))
    truncated = tmp_path / "copie-interrompue.tar"
    truncated.write_bytes(archive.read_bytes()[: database.offset_data + database.size // 2])
    other_engine = "sqlite" if POSTGRES else "postgresql"
    escape = b"pas une photo"

    def other(manifest):
        manifest["engine"] = other_engine
        manifest["files"][f"database.{'sqlite3' if other_engine == 'sqlite' else 'pgdump'}"] = manifest["files"].pop(
            f"database.{'pgdump' if POSTGRES else 'sqlite3'}"
        )

    cases = {
        notes: "n'est pas une sauvegarde de Voisinage",
        other_tar: "n'est pas une sauvegarde de Voisinage",
        altered: "abîmée ou a été modifiée",
        truncated: "elle est incomplète",
        _rewritten(archive, tmp_path / "unlisted.tar", extra={"data/uploads/photos/ajout.webp": b"x"}): "abîmée",
        _rewritten(
            archive,
            tmp_path / "escape.tar",
            manifest=_sha256_listed("data/uploads/../../../evasion", escape),
            extra={"data/uploads/../../../evasion": escape},
        ): "nom de fichier inattendu",
        _rewritten(archive, tmp_path / "other-engine.tar", manifest=other): "même moteur",
        _rewritten(
            archive, tmp_path / "newer.tar", manifest=lambda m: m["migrations"].append("2999-01-01T00:00:00:000000")
        ): "version plus récente",
    }
    for file, message in cases.items():
        result = _voisinage("restore", str(file), env=elsewhere.env)
        assert result.returncode != 0, file.name
        assert message in result.stderr and "Traceback" not in result.stderr, (file.name, result.stderr)
        assert await elsewhere.is_empty(), file.name
    assert not (tmp_path / "evasion").exists() and not (elsewhere.data_dir.parent / "evasion").exists()
    assert not list(elsewhere.data_dir.glob(".restoring-*")) and not list(elsewhere.data_dir.glob(".voisinage*"))


@pytest.mark.skipif(not POSTGRES, reason="pg_dump backs up PostgreSQL only")
def test_without_pg_dump_the_operator_is_told_what_to_install(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _voisinage("backup", "--to", str(tmp_path / "sauvegardes"), env={"VOISINAGE_PG_BINDIR": str(empty)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "pg_dump est introuvable" in result.stderr and "postgresql-client-" in result.stderr
    assert "pg_dump was not found" in result.stderr
    assert not list((tmp_path / "sauvegardes").iterdir())
