"""`voisinage restore FILE`: a backup of `app.db.backup` back into the
configured database and data directory.

In this order, and nothing is replaced before the last step: the file must be
a Voisinage backup (its manifest) of this engine, made by code whose every
migration this code knows; the configured database must hold nobody's data,
unless the operator said `--yes`; every member is copied beside its
destination and checked against the manifest's size and SHA-256. Then the
database is replaced (PostgreSQL: `pg_restore --clean` in one transaction;
SQLite: the checked copy renamed over the file, its old WAL gone first), and
the key files and uploads the backup holds take the place of the data
directory's. The caller then migrates, so that an older backup comes up to
date (and key files or photos from before they moved into the database are
moved in by the migration that does so).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from app.db.backup import (
    DATABASE_MEMBER,
    FORMAT,
    FORMAT_VERSION,
    KEY_FILES,
    MANIFEST,
    PEOPLES_TABLES,
    SPOOL,
    Refused,
    connect,
    create_owner_only,
    engine_of,
    fsync_dir,
    libpq,
    owner_only_umask,
    pg_tool,
    run_tool,
    server_major,
)
from app.settings import Settings

ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# A manifest lists every member: a few hundred bytes per photo.
MAX_MANIFEST = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


def _not_a_backup(archive: Path) -> Refused:
    return Refused(
        f"{archive} n'est pas une sauvegarde de Voisinage (faite par `voisinage backup`) : rien n'a été restauré.",
        f"{archive} is not a Voisinage backup (made by `voisinage backup`): nothing was restored.",
    )


def _damaged(what_fr: str = "son contenu", what_en: str = "its content") -> Refused:
    # Never a photo's file name: it is part of the photo's private address.
    return Refused(
        f"Cette sauvegarde est abîmée ou a été modifiée depuis qu'elle a été faite ({what_fr}) : rien n'a été restauré.",
        f"This backup is damaged or was changed after it was made ({what_en}): nothing was restored.",
    )


@contextlib.contextmanager
def _opened(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise Refused(f"{archive} : fichier introuvable.", f"{archive}: no such file.")
    try:
        # Also once gzipped or xz-compressed for storage.
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, EOFError, zlib.error):
        raise _not_a_backup(archive) from None
    with tar:
        yield tar


def _manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        complete = MANIFEST in tar.getnames()
    except (tarfile.TarError, EOFError, zlib.error):
        complete = False
    if not complete:
        # Ours but cut short (a copy that stopped half-way, a broken header):
        # the manifest comes last.
        if any(member.name in DATABASE_MEMBER.values() for member in tar.members):
            raise _damaged("elle est incomplète", "it is incomplete")
        raise _not_a_backup(archive)
    try:
        member = tar.getmember(MANIFEST)
        if not member.isreg() or member.size > MAX_MANIFEST:
            raise _not_a_backup(archive)
        manifest = json.loads(tar.extractfile(member).read())
    except (KeyError, ValueError, tarfile.TarError, EOFError, zlib.error):
        raise _not_a_backup(archive) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _not_a_backup(archive)
    if manifest.get("version") != FORMAT_VERSION:
        raise Refused(
            "Cette sauvegarde a été faite par une version plus récente de Voisinage : mettez Voisinage à jour, "
            "puis restaurez-la.",
            "This backup was made by a newer version of Voisinage: upgrade Voisinage, then restore it.",
        )
    files, migrations = manifest.get("files"), manifest.get("migrations")
    if (
        manifest.get("engine") not in DATABASE_MEMBER
        or not isinstance(files, dict)
        or DATABASE_MEMBER[manifest["engine"]] not in files
        or not all(isinstance(f, dict) and isinstance(f.get("size"), int) for f in files.values())
        or not all(isinstance(f.get("sha256"), str) for f in files.values())
        or not isinstance(migrations, list)
        or not all(isinstance(m, str) for m in migrations)
    ):
        raise _damaged("son manifeste", "its manifest")
    return manifest


def _fits(manifest: dict, settings: Settings, known_migrations: set[str]) -> None:
    ours, theirs = engine_of(settings), manifest["engine"]
    if theirs != ours:
        raise Refused(
            f"Cette sauvegarde est celle d'une base {ENGINE_NAMES[theirs]}, or la base configurée est "
            f"{ENGINE_NAMES[ours]} : restaurez-la avec le même moteur qu'à la sauvegarde (DATABASE_URL).",
            f"This backup is of a {ENGINE_NAMES[theirs]} database, but the configured database is "
            f"{ENGINE_NAMES[ours]}: restore it with the engine it was made with (DATABASE_URL).",
        )
    if unknown := sorted(set(manifest["migrations"]) - known_migrations):
        raise Refused(
            f"Cette sauvegarde vient d'une version plus récente de Voisinage (migration {unknown[-1]}, inconnue "
            "de celle-ci) : mettez Voisinage à jour, puis restaurez-la.",
            f"This backup comes from a newer version of Voisinage (migration {unknown[-1]}, unknown to this one): "
            "upgrade Voisinage, then restore it.",
        )


async def holds_data(settings: Settings) -> bool:
    """Whether the configured database has accounts, quartiers or posts."""
    if settings.is_postgres:
        async with connect(settings) as connection:
            for table in PEOPLES_TABLES:
                if await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table) and (
                    await connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})")
                ):
                    return True
        return False
    if not settings.sqlite_path.is_file():
        return False
    connection = sqlite3.connect(settings.sqlite_path)
    try:
        for table in PEOPLES_TABLES:
            exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            if exists.fetchone() and connection.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                return True
    except sqlite3.DatabaseError:
        return True  # not a database SQLite can read: nothing says it is nobody's
    finally:
        connection.close()
    return False


def _data_path(name: str) -> Path:
    """Where a `data/…` member goes, relative to the data directory: a key
    file, or a file under uploads; anything else is not ours to write."""
    parts = PurePosixPath(name).parts
    rest = parts[1:]
    key_file = len(rest) == 1 and rest[0] in KEY_FILES
    upload = len(rest) > 1 and rest[0] == "uploads" and rest[1] != SPOOL
    plain = not name.startswith("/") and "\\" not in name and not {"", ".", ".."} & set(rest)
    if parts[:1] != ("data",) or not plain or not (key_file or upload):
        raise _damaged("un nom de fichier inattendu", "an unexpected file name")
    return Path(*rest)


def _copy_checked(tar: tarfile.TarFile, member: tarfile.TarInfo, expected: dict, destination: Path) -> None:
    source = tar.extractfile(member)
    digest, size = hashlib.sha256(), 0
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with create_owner_only(destination) as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
        raise _damaged(
            *(("la base de données", "the database") if "/" not in member.name else ("un fichier", "a file"))
        )


def _extract(tar: tarfile.TarFile, manifest: dict, database: Path, data: Path) -> int:
    """Every member beside its destination, checked; returns how many data files there are."""
    files, database_member, seen = manifest["files"], DATABASE_MEMBER[manifest["engine"]], set()
    try:
        for member in tar:
            if member.name == MANIFEST:
                continue
            if member.name not in files or member.name in seen or not member.isreg():
                raise _damaged("un fichier inattendu", "an unexpected file")
            target = database if member.name == database_member else data / _data_path(member.name)
            _copy_checked(tar, member, files[member.name], target)
            seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error):
        raise _damaged() from None
    if seen != set(files):
        raise _damaged("un fichier manque", "a file is missing")
    return len(seen) - 1


async def _restore_postgresql(settings: Settings, dump: Path) -> None:
    async with connect(settings) as connection:
        tool = pg_tool("pg_restore", await server_major(connection), settings.pg_bindir)
    url, env = libpq(settings.database_url)
    # One transaction: a restore that fails half-way leaves the database as it was.
    await run_tool(
        [tool, "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}", str(dump)], env
    )


def _swap_sqlite(copy: Path, database: Path) -> None:
    """The checked copy in the database's place. The old database's WAL must
    go first: SQLite would otherwise replay its pages into the new file. A
    checkpoint first, so that a crash in between loses nothing of the old."""
    if database.is_file():
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(database)) as old:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm", "-journal"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    os.replace(copy, database)
    fsync_dir(database.parent)


def _place(staged: Path, data_dir: Path, replaced: Path) -> None:
    """The backup's key files and uploads in the data directory; uploads
    replace the folder as a whole (what the restored database does not know
    must not linger)."""
    for name in KEY_FILES:
        if (staged / name).is_file():
            os.replace(staged / name, data_dir / name)
    if (staged / "uploads").is_dir():
        if (data_dir / "uploads").exists():
            os.replace(data_dir / "uploads", replaced)
        os.replace(staged / "uploads", data_dir / "uploads")
    fsync_dir(data_dir)


async def restore(settings: Settings, archive: Path, *, known_migrations: set[str], replace: bool) -> tuple[dict, int]:
    """Restores `archive` (see the module's docstring); returns its manifest
    and how many data directory files it put back. The caller migrates."""
    with owner_only_umask(), _opened(archive) as tar:
        manifest = _manifest(tar, archive)
        _fits(manifest, settings, known_migrations)
        if not replace and await holds_data(settings):
            raise Refused(
                "La base de données configurée contient déjà des données (comptes, quartiers ou annonces) : "
                "la restauration les remplacerait. Restaurez dans une base vide, ou ajoutez --yes pour les remplacer.",
                "The configured database already holds data (accounts, quartiers or posts): restoring would "
                "replace it. Restore into an empty database, or add --yes to replace it.",
            )
        database = settings.sqlite_path
        for folder in (settings.data_dir, database.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=settings.data_dir, prefix=".restoring-"))
        # SQLite's copy beside the file it replaces: a rename within one file system.
        copy = (
            staging / "database"
            if settings.is_postgres
            else database.with_name(f".{database.name}.{secrets.token_hex(6)}")
        )
        try:
            count = _extract(tar, manifest, copy, staging / "data")
            if settings.is_postgres:
                await _restore_postgresql(settings, copy)
            else:
                _swap_sqlite(copy, database)
            _place(staging / "data", settings.data_dir, staging / "replaced")
        finally:
            copy.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
    return manifest, count
