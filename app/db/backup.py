"""`voisinage backup` and `voisinage restore`: the whole instance in one
file that only its owner can read, and back.

The file is a plain tar:

- `database.sqlite3` (SQLite's online backup API, a consistent copy while the
  server writes) or `database.pgdump` (`pg_dump --format=custom`, from the
  same snapshot as the manifest's list of migrations);
- `data/…`: the key files (`secret_key`, `vapid_private.pem`) and the
  uploads of the data directory, for as long as the app keeps any there
  (what is already in the database needs nothing more);
- `manifest.json`, last: the format, the app's version, the engine, the
  migrations applied, and the size and SHA-256 of every other member.

Everything is written owner-only from its first byte (files opened 0600 under
a 0077 umask, in folders made 0700): the file holds every neighbour's
address, messages and password hashes. A restore reads nothing it has not
checked: a file that is not such a tar, whose manifest names another engine
or a migration this code does not know, or whose members do not match their
checksums is refused before anything is replaced; a database that already
holds data is replaced only when the operator says so. PostgreSQL is
restored by `pg_restore` in one transaction; SQLite by renaming a checked
copy over the database file, which is why no server may run meanwhile.

The connections here are asyncpg's and sqlite3's own, apart from Piccolo's
engine: a restore must not hold the SQLite file it replaces open, and
pg_dump shares the snapshot of a transaction kept open for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from app.settings import Settings

FORMAT = "voisinage-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
KEY_FILES = ("secret_key", "vapid_private.pem")
# Photos still arriving when the backup runs: never part of it.
SPOOL = "incoming"
# Tables whose rows mean someone uses this database (a restore would replace them).
PEOPLES_TABLES = ("account", "neighbourhood", "post")
# Where Debian installs each major version of the PostgreSQL client tools.
DEBIAN_POSTGRESQL = Path("/usr/lib/postgresql")


class Refused(Exception):
    """Shown to the operator as it is: French, then English."""

    def __init__(self, french: str, english: str) -> None:
        super().__init__(f"{french}\n{english}")


def engine_of(settings: Settings) -> str:
    return "postgresql" if settings.is_postgres else "sqlite"


@contextlib.contextmanager
def owner_only_umask() -> Iterator[None]:
    """Whatever this process or pg_dump/pg_restore creates meanwhile is the owner's alone."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def create_owner_only(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "wb")


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _never_migrated() -> Refused:
    return Refused(
        "La base de données n'a jamais été migrée : il n'y a rien à sauvegarder.",
        "The database was never migrated: there is nothing to back up.",
    )


# PostgreSQL's tools ------------------------------------------------------------------------------


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that gives it: a
    password on a command line is readable by every local user (ps)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = unquote(parts.password)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host)), env


def _major_of(tool: str) -> int | None:
    found = re.search(r"\) (\d+)", subprocess.run([tool, "--version"], capture_output=True, text=True).stdout)
    return int(found.group(1)) if found else None


def pg_tool(name: str, major: int, bindir: Path | None) -> str:
    """`pg_dump` or `pg_restore` able to talk to this server: from `bindir`
    when the settings name one; else Debian's of the server's major version,
    else the nearest newer one installed beside it, else the one on PATH if
    it is not older than the server."""
    install = f"postgresql-client-{major}"
    missing = Refused(
        f"{name} est introuvable : installez le client PostgreSQL {major} (Debian : apt install {install}) "
        "ou donnez son dossier dans VOISINAGE_PG_BINDIR.",
        f"{name} was not found: install the PostgreSQL {major} client (Debian: apt install {install}) "
        "or give its folder in VOISINAGE_PG_BINDIR.",
    )
    if bindir is not None:
        if os.access(bindir / name, os.X_OK):
            return str(bindir / name)
        raise missing
    installed = {}
    for tool in DEBIAN_POSTGRESQL.glob(f"*/bin/{name}"):
        if tool.parent.parent.name.isdigit() and os.access(tool, os.X_OK):
            installed[int(tool.parent.parent.name)] = tool
    if usable := sorted(v for v in installed if v >= major):
        return str(installed[usable[0]])
    on_path = shutil.which(name)
    if on_path is None:
        raise missing
    theirs = _major_of(on_path)
    if theirs is not None and theirs < major:
        raise Refused(
            f"{on_path} est celui de PostgreSQL {theirs}, plus ancien que le serveur ({major}) : "
            f"installez {install} ou donnez son dossier dans VOISINAGE_PG_BINDIR.",
            f"{on_path} belongs to PostgreSQL {theirs}, older than the server ({major}): "
            f"install {install} or give its folder in VOISINAGE_PG_BINDIR.",
        )
    return on_path


async def run_tool(command: list[str], env: dict[str, str], stdout: BinaryIO | None = None) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env
    )
    _, err = await process.communicate()
    if process.returncode:
        # DETAIL lines may quote a row (a key's value): the rest says what failed.
        said = [line for line in err.decode(errors="replace").splitlines() if "DETAIL:" not in line][-15:]
        name = Path(command[0]).name
        raise Refused(f"{name} a échoué :\n" + "\n".join(said), f"{name} failed (see above).")


@contextlib.asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    try:
        connection = await asyncpg.connect(settings.database_url, timeout=settings.db_timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise Refused(
            f"Connexion à PostgreSQL impossible (DATABASE_URL) : {type(exc).__name__}.",
            f"Could not connect to PostgreSQL (DATABASE_URL): {type(exc).__name__}.",
        ) from None
    try:
        yield connection
    finally:
        await connection.close()


async def server_major(connection: asyncpg.Connection) -> int:
    return int(await connection.fetchval("SHOW server_version_num")) // 10000


# Backup ------------------------------------------------------------------------------------------


def _copy_sqlite(database: Path, out: Path) -> list[str]:
    """A consistent copy of the database in `out`, a file of its own (no WAL
    beside it); returns the migrations it had."""
    if not database.is_file():
        raise _never_migrated()
    create_owner_only(out).close()
    source, copy = sqlite3.connect(database), sqlite3.connect(out)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        if not copy.execute("SELECT 1 FROM sqlite_master WHERE name = 'migration'").fetchone():
            raise _never_migrated()
        return [row[0] for row in copy.execute("SELECT name FROM migration WHERE app_name = 'voisinage'")]
    finally:
        source.close()
        copy.close()


async def _dump_postgresql(settings: Settings, out: Path) -> tuple[list[str], int]:
    """pg_dump into `out` from the snapshot the migrations are read in; returns them and the server's version."""
    async with connect(settings) as connection:
        major = await server_major(connection)
        tool = pg_tool("pg_dump", major, settings.pg_bindir)
        url, env = libpq(settings.database_url)
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            if not await connection.fetchval("SELECT to_regclass('migration') IS NOT NULL"):
                raise _never_migrated()
            migrations = [
                r["name"] for r in await connection.fetch("SELECT name FROM migration WHERE app_name = $1", "voisinage")
            ]
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            with create_owner_only(out) as dump:
                await run_tool([tool, "--format=custom", f"--snapshot={snapshot}", f"--dbname={url}"], env, stdout=dump)
    return migrations, major


def _data_files(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """The data directory's files a restore needs: key files and uploads (not those still arriving)."""
    for name in KEY_FILES:
        if (data_dir / name).is_file():
            yield f"data/{name}", data_dir / name
    uploads = data_dir / "uploads"
    for folder, dirs, files in os.walk(uploads):
        if Path(folder) == uploads and SPOOL in dirs:
            dirs.remove(SPOOL)
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield f"data/{path.relative_to(data_dir).as_posix()}", path


class _Hashing:
    """A file read by tarfile, hashed on the way."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.sha256 = file, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict | None:
    try:
        file = path.open("rb")
    except FileNotFoundError:  # a photo deleted while the backup ran
        return None
    with file:
        info = tar.tarinfo(name)
        stat = os.fstat(file.fileno())
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
        hashing = _Hashing(file)
        tar.addfile(info, hashing)
    return {"size": info.size, "sha256": hashing.sha256.hexdigest()}


def _app_version() -> str:
    try:
        return importlib.metadata.version("voisinage")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "source"


def _publish(part: Path, folder: Path, stamp: str) -> Path:
    """`part` under the first free name for `stamp`: two backups made in one second are both kept."""
    for n in range(1, 100):
        target = folder / (f"voisinage-{stamp}.tar" if n == 1 else f"voisinage-{stamp}-{n}.tar")
        try:
            create_owner_only(target).close()  # takes the name; the rename below fills it at once
        except FileExistsError:
            continue
        os.replace(part, target)
        fsync_dir(folder)
        return target
    raise FileExistsError(folder / f"voisinage-{stamp}.tar")


async def create(settings: Settings, folder: Path) -> Path:
    """Writes the backup into `folder` (made 0700 if new) and returns its path."""
    engine = engine_of(settings)
    member = DATABASE_MEMBER[engine]
    with owner_only_umask():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".voisinage-backup-") as work:
            dump = Path(work) / member
            manifest: dict = {"format": FORMAT, "version": FORMAT_VERSION, "app_version": _app_version()}
            manifest["engine"] = engine
            if engine == "postgresql":
                migrations, manifest["server_version"] = await _dump_postgresql(settings, dump)
            else:
                migrations = _copy_sqlite(settings.sqlite_path, dump)
            manifest["migration"] = max(migrations, default=None)
            manifest["migrations"] = sorted(migrations)
            manifest["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            part = Path(work) / "backup.tar"
            with create_owner_only(part) as raw:
                with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    files = {member: _add(tar, member, dump)}
                    for name, path in _data_files(settings.data_dir):
                        if (added := _add(tar, name, path)) is not None:
                            files[name] = added
                    manifest["files"] = files
                    text = json.dumps(manifest, indent=2).encode()
                    info = tar.tarinfo(MANIFEST)
                    info.size, info.mtime, info.mode = len(text), int(datetime.now().timestamp()), 0o600
                    tar.addfile(info, io.BytesIO(text))
                raw.flush()
                os.fsync(raw.fileno())
            return _publish(part, folder, datetime.now().strftime("%Y%m%d-%H%M%S"))
