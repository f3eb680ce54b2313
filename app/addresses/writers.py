"""Writing imported batches of addresses: SQLite's executemany in one
transaction per batch, PostgreSQL's COPY into staging tables then one
upsert; and removing what a newer file of the same départements no longer
holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from app.addresses import text


class Way(NamedTuple):
    key: str
    department: str
    name: str
    postcode: str
    insee: str
    city: str
    search: str


@dataclass
class Batch:
    ways: dict[str, Way]
    # ban_id, way key, number, rep, lon, lat
    addresses: list[tuple[str, str, int, str, float, float]]
    skipped: int
    position: float


_WAY_COLUMNS = Way._fields
_UPDATE_WAY = ", ".join(f"{c} = excluded.{c}" for c in (*_WAY_COLUMNS[1:], "import_run"))
_UPDATE_ADDRESS = ", ".join(f"{c} = excluded.{c}" for c in ("way", "number", "rep", "lon", "lat", "import_run"))
_REMOVE_ADDRESSES = (
    "DELETE FROM address WHERE import_run < {run} AND way IN "
    "(SELECT id FROM address_way WHERE department IN ({departments}))"
)
_REMOVE_WAYS = "DELETE FROM address_way WHERE import_run < {run} AND department IN ({departments})"


def _words(batch: Batch) -> list[tuple[str, str]]:
    """(form, word) of every word of the batch's names. Never removed: a word that left the file
    only costs a correction that leads nowhere."""
    words = {w for way in batch.ways.values() for w in way.search.split()}
    return sorted({(form, w) for w in words for form in text.forms(w)})


class SQLiteWriter:
    def __init__(self, engine) -> None:
        self.engine = engine

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def write(self, batch: Batch, run: int) -> None:
        async with self.engine.transaction() as tx:
            await tx.connection.executemany(
                f"INSERT INTO address_way ({', '.join(_WAY_COLUMNS)}, import_run) VALUES (?, ?, ?, ?, ?, ?, ?, {int(run)}) "
                f"ON CONFLICT (key) DO UPDATE SET {_UPDATE_WAY}",
                list(batch.ways.values()),
            )
            # The street's id by its unique key, in SQLite's own loop rather than a round trip per batch.
            await tx.connection.executemany(
                "INSERT OR IGNORE INTO address_word (form, word) VALUES (?, ?)", _words(batch)
            )
            await tx.connection.executemany(
                "INSERT INTO address (ban_id, way, number, rep, lon, lat, import_run) "
                f"VALUES (?, (SELECT id FROM address_way WHERE key = ?), ?, ?, ?, ?, {int(run)}) "
                f"ON CONFLICT (ban_id) DO UPDATE SET {_UPDATE_ADDRESS}",
                batch.addresses,
            )

    async def remove_older(self, departments: list[str], run: int) -> int:
        if not departments:
            return 0
        marks = ", ".join("?" * len(departments))
        async with self.engine.transaction() as tx:
            cursor = await tx.connection.execute(
                _REMOVE_ADDRESSES.format(run="?", departments=marks), [run, *departments]
            )
            removed = cursor.rowcount
            await tx.connection.execute(_REMOVE_WAYS.format(run="?", departments=marks), [run, *departments])
        return removed


class PostgresWriter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.connection = None

    async def __aenter__(self):
        self.connection = await self.engine.get_new_connection()
        # A batch need not wait for the disk: a crash loses at most the last ones, which running the
        # import again rewrites (nothing is removed before the whole file went through).
        await self.connection.execute("SET synchronous_commit = off")
        await self.connection.execute(
            "CREATE TEMP TABLE address_way_staging (key text, department text, name text, postcode text, "
            "insee text, city text, search text) ON COMMIT DELETE ROWS"
        )
        await self.connection.execute(
            "CREATE TEMP TABLE address_staging (ban_id text, key text, number integer, rep text, "
            "lon double precision, lat double precision) ON COMMIT DELETE ROWS"
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.connection.close()

    async def write(self, batch: Batch, run: int) -> None:
        conn = self.connection
        async with conn.transaction():
            await conn.copy_records_to_table(
                "address_way_staging", columns=Way._fields, records=list(batch.ways.values())
            )
            await conn.copy_records_to_table(
                "address_staging", records=batch.addresses, columns=("ban_id", "key", "number", "rep", "lon", "lat")
            )
            await conn.execute(
                f"INSERT INTO address_way ({', '.join(_WAY_COLUMNS)}, import_run) "
                f"SELECT {', '.join(_WAY_COLUMNS)}, $1 FROM address_way_staging "
                f"ON CONFLICT (key) DO UPDATE SET {_UPDATE_WAY}",
                run,
            )
            pairs = _words(batch)
            await conn.execute(
                "INSERT INTO address_word (form, word) SELECT * FROM unnest($1::text[], $2::text[]) "
                "ON CONFLICT DO NOTHING",
                [f for f, _ in pairs],
                [w for _, w in pairs],
            )
            # DISTINCT ON: one upsert may not touch a row twice, and an export may repeat an id.
            await conn.execute(
                "INSERT INTO address (ban_id, way, number, rep, lon, lat, import_run) "
                "SELECT DISTINCT ON (s.ban_id) s.ban_id, w.id, s.number, s.rep, s.lon, s.lat, $1 "
                "FROM address_staging s JOIN address_way w ON w.key = s.key ORDER BY s.ban_id "
                f"ON CONFLICT (ban_id) DO UPDATE SET {_UPDATE_ADDRESS}",
                run,
            )

    async def remove_older(self, departments: list[str], run: int) -> int:
        if not departments:
            return 0
        async with self.connection.transaction():
            status = await self.connection.execute(
                _REMOVE_ADDRESSES.format(run="$1", departments="SELECT unnest($2::text[])"), run, departments
            )
            await self.connection.execute(
                _REMOVE_WAYS.format(run="$1", departments="SELECT unnest($2::text[])"), run, departments
            )
        return int(status.split()[-1])
