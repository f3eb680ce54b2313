import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import Bytea
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString
from piccolo.table import Table


class PhotoBlob(Table, tablename="photo_blob", schema=None):
    hash = Varchar(
        length=64,
        default="",
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name=None,
        secret=False,
    )


ID = "2026-12-01T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "photos (WebP bytes keyed by SHA-256) and the secret and VAPID keys in the database; existing files moved in"
)

log = logging.getLogger("voisinage.migrations")


async def _run(sql: str, *args) -> list[dict]:
    return await engine_finder().run_querystring(QueryString(sql, *args))


async def _move_photos(folder: Path) -> list[Path]:
    """Each photo's two files into photo_blob, one photo in memory at a time;
    returns the files now held by the database."""
    moved: list[Path] = []
    now = datetime.now(timezone.utc)
    for photo in await _run("SELECT id, name FROM photo WHERE large IS NULL ORDER BY id"):
        files = [folder / f"{photo['name']}.webp", folder / f"{photo['name']}_t.webp"]
        if not all(f.is_file() for f in files):
            # The id only: the name is part of the photo's private URL.
            log.warning("photo %s: its files are missing from %s, skipped (it will not show)", photo["id"], folder)
            continue
        hashes = []
        for path in files:
            data = path.read_bytes()
            hashes.append(hashlib.sha256(data).hexdigest())
            await _run(
                "INSERT INTO photo_blob (hash, data, created_at) VALUES ({}, {}, {}) ON CONFLICT (hash) DO NOTHING",
                hashes[-1],
                data,
                now,
            )
        await _run("UPDATE photo SET large = {}, thumb = {} WHERE id = {}", *hashes, photo["id"])
        moved += files
    return moved


async def _move_keys(data_dir: Path) -> list[Path]:
    """The keys an earlier version generated into the data dir: pushes stay
    signed as subscriptions expect, letter codes already printed still work."""
    moved = []
    for name, path in (("secret_key", data_dir / "secret_key"), ("vapid_private_key", data_dir / "vapid_private.pem")):
        if path.is_file():
            await _run(
                "INSERT INTO instance_key (name, value) VALUES ({}, {}) ON CONFLICT (name) DO NOTHING",
                name,
                path.read_text().strip(),
            )
            moved.append(path)
    return moved


class _ThenMoveFilesIn(MigrationManager):
    """The data move needs the new tables, which Piccolo creates after any raw
    step: it runs after them, in the same transaction. The files go only once
    that transaction is committed."""

    async def run(self, backwards: bool = False):
        if backwards:
            return await super().run(backwards=True)
        from app.settings import get_settings

        data_dir = get_settings().data_dir
        async with engine_finder().transaction():
            await super().run()
            moved = await _move_photos(data_dir / "uploads" / "photos") + await _move_keys(data_dir)
        for path in moved:
            path.unlink(missing_ok=True)
        if moved:
            print(f"{len(moved)} files of {data_dir} moved into the database.")


async def forwards():
    manager = _ThenMoveFilesIn(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    manager.add_table(
        class_name="InstanceKey",
        tablename="instance_key",
        schema=None,
        columns=None,
    )

    manager.add_table(class_name="PhotoBlob", tablename="photo_blob", schema=None, columns=None)

    manager.add_column(
        table_class_name="InstanceKey",
        tablename="instance_key",
        column_name="name",
        db_column_name="name",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
            "default": "",
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="InstanceKey",
        tablename="instance_key",
        column_name="value",
        db_column_name="value",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PhotoBlob",
        tablename="photo_blob",
        column_name="hash",
        db_column_name="hash",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PhotoBlob",
        tablename="photo_blob",
        column_name="data",
        db_column_name="data",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": b"",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="PhotoBlob",
        tablename="photo_blob",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Photo",
        tablename="photo",
        column_name="large",
        db_column_name="large",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": PhotoBlob,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Photo",
        tablename="photo",
        column_name="thumb",
        db_column_name="thumb",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": PhotoBlob,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
