"""Writing imported batches of addresses: SQLite's executemany in one
transaction per batch, PostgreSQL's COPY into staging tables then one
upsert; and removing what a newer file of the same départements no longer
holds.

PostgreSQL's first import (an empty `address` table) is a bulk load: one
transaction that drops the table's secondary indexes, COPYs the rows straight
into it and builds the indexes once at the end. Keeping them up to date row by
row cost two thirds of the import; the transaction makes a failed import leave
the table as it was, indexes included. Address searches wait for it to commit
(there was nothing to find before)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import asyncpg

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


class Vocabulary:
    """The words of the names already written by this import, so that each batch writes only the
    forms of the words new to it. Never removed from the table: a word that left the file only
    costs a correction that leads nowhere."""

    LIMIT = 500_000  # words remembered; a file with more starts over, writing some forms twice

    def __init__(self) -> None:
        self.written: set[str] = set()

    def new_pairs(self, batch: Batch) -> list[tuple[str, str]]:
        """(form, word) of every word of the batch's names not written yet."""
        words = {w for way in batch.ways.values() for w in way.search.split()} - self.written
        if len(self.written) + len(words) > self.LIMIT:
            self.written.clear()
        self.written |= words
        return sorted({(form, w) for w in words for form in text.forms(w)})


class SQLiteWriter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.vocabulary = Vocabulary()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def finish(self) -> None:
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
                "INSERT OR IGNORE INTO address_word (form, word) VALUES (?, ?)", self.vocabulary.new_pairs(batch)
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


_ADDRESS_COLUMNS = ("ban_id", "way", "number", "rep", "lon", "lat", "import_run")


class PostgresWriter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.connection = None
        self.vocabulary = Vocabulary()
        self.bulk = None  # the bulk load's transaction and the indexes it builds at the end

    async def __aenter__(self):
        self.connection = await self.engine.get_new_connection()
        # A batch need not wait for the disk: a crash loses at most the last ones, which running the
        # import again rewrites (nothing is removed before the whole file went through).
        await self.connection.execute("SET synchronous_commit = off")
        # The upsert sorts each batch by id: in memory rather than in files.
        await self.connection.execute("SET work_mem = '64MB'")
        await self.connection.execute(
            "CREATE TEMP TABLE address_way_staging (key text, department text, name text, postcode text, "
            "insee text, city text, search text) ON COMMIT DELETE ROWS"
        )
        await self.connection.execute(
            "CREATE TEMP TABLE address_staging (ban_id text, key text, number integer, rep text, "
            "lon double precision, lat double precision) ON COMMIT DELETE ROWS"
        )
        await self._start_bulk()
        return self

    async def __aexit__(self, *exc) -> None:
        # A bulk load not finished is rolled back with the connection: the table and its indexes stay.
        await self.connection.close()

    async def _start_bulk(self) -> None:
        conn = self.connection
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM address)"):
            return  # the usual case, without taking the table's lock
        transaction = conn.transaction()
        await transaction.start()
        # Taken before looking, so that two first imports at once do not both start a bulk load.
        await conn.execute("LOCK TABLE address IN ACCESS EXCLUSIVE MODE")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM address)"):
            await transaction.rollback()
            return
        constraints = await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE conrelid = 'address'::regclass AND contype = 'u'"
        )
        indexes = await conn.fetch(
            "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
            "FROM pg_index i WHERE i.indrelid = 'address'::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        )
        for c in constraints:
            await conn.execute(f'ALTER TABLE address DROP CONSTRAINT "{c["conname"]}"')
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["name"]}"')
        rebuild = [f'ALTER TABLE address ADD CONSTRAINT "{c["conname"]}" {c["definition"]}' for c in constraints]
        self.bulk = (transaction, rebuild, [index["definition"] for index in indexes])

    async def finish(self) -> None:
        """Ends a bulk load: the file's repeated ids keep their last row, as the upsert does, then the
        indexes are built and the transaction commits."""
        if self.bulk is None:
            return
        transaction, constraints, indexes = self.bulk
        conn = self.connection
        try:
            async with conn.transaction():  # a savepoint: a repeated id makes the unique index fail
                for statement in constraints:
                    await conn.execute(statement)
        except asyncpg.UniqueViolationError:
            await conn.execute("DELETE FROM address a USING address b WHERE a.ban_id = b.ban_id AND a.id < b.id")
            for statement in constraints:
                await conn.execute(statement)
        for statement in indexes:
            await conn.execute(statement)
        await conn.execute("ANALYZE address")
        await transaction.commit()
        self.bulk = None

    async def write(self, batch: Batch, run: int) -> None:
        conn = self.connection
        async with conn.transaction():
            await conn.copy_records_to_table(
                "address_way_staging", columns=Way._fields, records=list(batch.ways.values())
            )
            ways = await conn.fetch(
                f"INSERT INTO address_way ({', '.join(_WAY_COLUMNS)}, import_run) "
                f"SELECT {', '.join(_WAY_COLUMNS)}, $1 FROM address_way_staging "
                f"ON CONFLICT (key) DO UPDATE SET {_UPDATE_WAY} RETURNING id, key",
                run,
            )
            if self.bulk is not None:
                # Inside the bulk load's transaction this is a savepoint: the staging rows stay until emptied.
                await conn.execute("TRUNCATE address_way_staging")
            pairs = self.vocabulary.new_pairs(batch)
            await conn.execute(
                "INSERT INTO address_word (form, word) SELECT * FROM unnest($1::text[], $2::text[]) "
                "ON CONFLICT DO NOTHING",
                [f for f, _ in pairs],
                [w for _, w in pairs],
            )
            if self.bulk is not None:
                way_ids = {r["key"]: r["id"] for r in ways}
                await conn.copy_records_to_table(
                    "address",
                    columns=_ADDRESS_COLUMNS,
                    records=[(i, way_ids[k], n, rep, lon, lat, run) for i, k, n, rep, lon, lat in batch.addresses],
                )
                return
            await conn.copy_records_to_table(
                "address_staging", records=batch.addresses, columns=("ban_id", "key", "number", "rep", "lon", "lat")
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
