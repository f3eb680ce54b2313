"""Migrations, one process at a time among all those on the database, and
the connection pool around a command. Every command, `serve` and `worker`
migrate first (app.cli, app.serving)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import os
from collections.abc import AsyncIterator

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")

# pg_advisory_lock's key for migrations: "voisinag" in ASCII, a bigint no other lock of ours uses.
MIGRATION_LOCK = 0x766F6973696E6167


@contextlib.asynccontextmanager
async def _one_migration_at_a_time() -> AsyncIterator[None]:
    """Held by one process at a time among all those on this database: ten
    processes starting together on an empty database would otherwise each
    create the same tables. PostgreSQL: a session advisory lock on a
    connection of its own, held for the whole run (closing it releases the
    lock, also when the process dies). SQLite: an exclusive lock on a file
    next to the database (the database's own lock would also shut out the
    connection that migrates)."""
    from app.piccolo_conf import DB
    from app.settings import get_settings

    settings = get_settings()
    if settings.is_postgres:
        connection = await DB.get_new_connection()
        try:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            yield
        finally:
            await connection.close()
        return
    with open(settings.sqlite_path.with_name(settings.sqlite_path.name + ".migrating"), "a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Polled rather than blocking a thread: a process stopped while it waits exits at once.
                await asyncio.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def migrate(quiet: bool = False) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO()
    # Piccolo narrates every migration; a server start should stay readable.
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        async with _one_migration_at_a_time():
            result = await run_forwards(app_name="voisinage")
            if result.success:
                await _first_nearby_quartiers()
    if not result.success:
        raise SystemExit(f"migrations failed: {result.message}\n{out.getvalue()}")


async def _first_nearby_quartiers() -> None:
    """The upgrade that brought quartiers voisins (0021) finds quartiers already
    there: their pairs are computed once, here, by shapely (SQL cannot). Later
    boundaries and openings keep them in step (app.neighbourhoods.nearby)."""
    from app.neighbourhoods import nearby
    from app.neighbourhoods.tables import Neighbourhood, NeighbourhoodNearby

    # Before 0021 (`piccolo migrations new` on an older schema) there is nothing to fill.
    if not await NeighbourhoodNearby.table_exists() or await NeighbourhoodNearby.exists():
        return
    if await Neighbourhood.count().where(Neighbourhood.status == "open") > 1:
        await nearby.refresh_all()


async def with_db(coro, *, bounded: bool = False):
    """`bounded`: the statement timeout of a long-running service (app.db.postgres);
    maintenance commands run without it."""
    from app.piccolo_conf import DB

    await DB.start_connection_pool(bounded=bounded)
    try:
        return await coro
    finally:
        await DB.close_connection_pool()
