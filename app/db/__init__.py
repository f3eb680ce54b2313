"""The database floor: this SQLite engine, and the two helpers every query
module uses where Piccolo's query builder stops:

- `app.db.rows`: raw SQL read back with the Python values Piccolo's select gives;
- `app.db.keyset`: one page of a list (Piccolo query or SQL) and the cursor of
  the next, never OFFSET.

The engine is SQLite done right, for Piccolo. Piccolo's stock SQLiteEngine
opens a new connection (and thread) per query and starts DEFERRED
transactions, which under concurrent read-then-write requests fail with
"database is locked". This engine keeps persistent connections in WAL mode: a
few readers that never block each other, and one writer that every write and
every transaction goes through, one at a time, starting with BEGIN IMMEDIATE
so a transaction that will write holds the lock from its first statement.
`close()` ends every connection thread, so the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

BUSY_TIMEOUT_MS = 10_000
# The loop's own reader checks every INLINE_STEPS SQLite steps and gives a read
# up after INLINE_CHECKS checks (some milliseconds): a feed page takes a tenth of that.
INLINE_STEPS = 10_000
INLINE_CHECKS = 50


def _boolean_out(value: bytes) -> bool:
    """Piccolo's BOOLEAN converter without its generic bytes-or-text wrapper."""
    return value == b"1"


def _timestamptz_out(value: bytes) -> datetime:
    """Piccolo's TIMESTAMPTZ converter without its generic bytes-or-text wrapper."""
    return datetime.fromisoformat(value.decode()).replace(tzinfo=timezone.utc)


# Piccolo registers its converters process-wide when it is imported. Its
# INTEGER one reads every whole number through text and a Decimal, for a stray
# 1.0 in an INTEGER column; but SQLite's INTEGER affinity already stores any
# value that is a whole number as an integer, which sqlite3 hands over as an
# int without a Python call. With it gone, and these two without a wrapper, a
# feed page's rows (700 values) cost a third less to read.
sqlite3.converters.pop("INTEGER", None)
sqlite3.register_converter("BOOLEAN", _boolean_out)
sqlite3.register_converter("TIMESTAMPTZ", _timestamptz_out)


def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head == "SELECT"


class WriterTransaction(SQLiteTransaction):
    """Holds the single writer for its whole life; always IMMEDIATE."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: VoisinageSQLiteEngine = self.engine  # type: ignore[assignment]
        await engine._write_lock().acquire()
        try:
            self.connection = await engine._writer()
            await self.connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            # A failed BEGIN must give the writer back, or every later write waits forever.
            engine._write_lock().release()
            raise
        self.context = engine.current_transaction.set(self)
        return self

    async def rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (SQLITE_FULL, IOERR,
        # NOMEM): a ROLLBACK then fails with "cannot rollback - no transaction
        # is active" and would hide the error that says what happened.
        if self.connection.in_transaction:
            await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        engine: VoisinageSQLiteEngine = self.engine  # type: ignore[assignment]
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    await self.rollback()
                    raise
        finally:
            engine.current_transaction.reset(self.context)
            engine._write_lock().release()
        return exception is None


class VoisinageSQLiteEngine(SQLiteEngine):
    def __init__(
        self,
        path: str = "voisinage.sqlite3",
        readers: int = 4,
        functions: Mapping[str, Callable[[Any], Any]] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        """`functions`: SQL functions of one argument that every connection
        gets (triggers call them, so a connection without them cannot write)."""
        connection_kwargs.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
        super().__init__(path=path, **connection_kwargs)
        self.reader_count = max(1, readers)
        self.functions = dict(functions or {})
        self._reset()

    def _reset(self) -> None:
        self._writer_conn: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._lock: asyncio.Lock | None = None
        self._open_lock: asyncio.Lock | None = None
        self._inline: sqlite3.Connection | None = None
        self._inline_steps = 0

    # Connections ---------------------------------------------------------------

    async def _connect(self, *, read_only: bool) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        pragmas = [
            "PRAGMA journal_mode = WAL",
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            # With WAL, NORMAL loses no committed data on a crash of the app,
            # only possibly the last transactions on a power cut.
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA cache_size = -16000",
            "PRAGMA temp_store = MEMORY",
        ]
        if read_only:
            pragmas.append("PRAGMA query_only = ON")
        try:
            for pragma in pragmas:
                await connection.execute(pragma)
            for name, function in self.functions.items():
                await connection.create_function(name, 1, function, deterministic=True)
        except BaseException:
            # The connection's thread would otherwise keep the process alive (a read-only data dir fails here).
            await connection.close()
            raise
        return connection

    def _inline_reader(self) -> sqlite3.Connection | None:
        """A reader on the event loop's own thread, for reads outside a
        transaction. Handing a small indexed read to a connection thread and
        back cost more than the read itself (a quarter of a feed request's
        CPU); run here it costs tens of microseconds. It never waits for a
        lock (busy timeout 0): in the rare case WAL makes a reader wait, the
        read goes to the threaded readers instead. Opened after the writer,
        which creates the file and switches it to WAL."""
        if self._inline is None and self._writer_conn is not None:
            connection = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0, "check_same_thread": False})
            pragmas = ("busy_timeout = 0", "cache_size = -16000", "temp_store = MEMORY", "query_only = ON")
            for pragma in pragmas:
                connection.execute(f"PRAGMA {pragma}")
            # A read that turns out long (a search, an export) must not hold the
            # loop: past a budget of SQLite steps it is interrupted and goes to a
            # threaded reader instead.
            connection.set_progress_handler(self._inline_budget_spent, INLINE_STEPS)
            for name, function in self.functions.items():
                connection.create_function(name, 1, function, deterministic=True)
            self._inline = connection
        return self._inline

    def data_version(self) -> int | None:
        """A number that moves whenever a transaction commits through any other
        connection to the file, this process's writer and other processes
        included (SQLite's PRAGMA data_version, read on the loop's own reader,
        which never writes): a few microseconds, no wait. None when it cannot
        be known now (no reader yet, or the file busy in a recovery)."""
        inline = self._inline_reader()
        if inline is None:
            return None
        self._inline_steps = 0
        try:
            return inline.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.OperationalError:
            return None

    def _inline_budget_spent(self) -> int:
        self._inline_steps += 1
        return self._inline_steps > INLINE_CHECKS

    def _write_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _writer(self) -> aiosqlite.Connection:
        if self._writer_conn is None:
            self._writer_conn = await self._connect(read_only=False)
        return self._writer_conn

    async def _reader(self) -> aiosqlite.Connection:
        if self._readers is None:
            if self._open_lock is None:
                self._open_lock = asyncio.Lock()
            async with self._open_lock:
                if self._readers is None:
                    await self._writer()  # the writer creates the file and switches it to WAL first
                    queue: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
                    for _ in range(self.reader_count):
                        connection = await self._connect(read_only=True)
                        self._all_readers.append(connection)
                        queue.put_nowait(connection)
                    self._readers = queue
        return await self._readers.get()

    async def start(self) -> None:
        connection = await self._reader()
        self._readers.put_nowait(connection)  # type: ignore[union-attr]

    async def close(self) -> None:
        connections = [*self._all_readers, *([self._writer_conn] if self._writer_conn else [])]
        if self._inline is not None:
            self._inline.close()
        self._reset()
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.close()

    # Piccolo's names for the same thing on PostgreSQL, so startup code is
    # engine-agnostic (`bounded` is app.db.postgres's statement timeout).
    async def start_connection_pool(self, **_: Any) -> None:
        await self.start()

    async def close_connection_pool(self) -> None:
        await self.close()

    # Queries -------------------------------------------------------------------

    async def _execute(self, connection: aiosqlite.Connection, query: str, args: list[Any] | None) -> list[dict]:
        # One hop to the connection's thread (execute, fetch and close there)
        # instead of three: the hops cost more than a small indexed query.
        return list(await connection.execute_fetchall(query, args or []))

    async def _run_in_existing_connection(
        self, connection, query: str, args=None, query_type: str = "generic", table=None
    ):
        return await self._execute(connection, query, args)

    async def _run(self, query: str, args: list[Any] | None) -> list[dict]:
        current = self.current_transaction.get()
        if current is not None:
            return await self._execute(current.connection, query, args)
        if _is_read(query):
            inline = self._inline_reader()
            if inline is not None:
                self._inline_steps = 0
                try:
                    cursor = inline.execute(query, args or [])
                    found = cursor.fetchall()
                    # dict(zip()) per row, the names read once: Piccolo's
                    # dict_factory builds each row's dict in Python.
                    names = [column[0] for column in cursor.description or ()]
                    return [dict(zip(names, row, strict=True)) for row in found]
                except sqlite3.OperationalError as exc:
                    # Busy, or too long for the loop's thread (interrupted): a threaded reader does it.
                    if exc.sqlite_errorcode not in (
                        sqlite3.SQLITE_BUSY,
                        sqlite3.SQLITE_LOCKED,
                        sqlite3.SQLITE_INTERRUPT,
                    ):
                        raise
            connection = await self._reader()
            try:
                return await self._execute(connection, query, args)
            finally:
                if self._readers is not None and connection in self._all_readers:
                    self._readers.put_nowait(connection)
        async with self._write_lock():
            return await self._execute(await self._writer(), query, args)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        query, args = querystring.compile_string(engine_type=self.engine_type)
        if self.log_queries:
            self.print_query(query_id=self.get_query_id(), query=str(querystring))
        response = await self._run(query, args)
        if self.log_responses:
            self.print_response(query_id=self.get_query_id(), response=response)
        return response

    async def run_ddl(self, ddl: str, in_pool: bool = False):
        current = self.current_transaction.get()
        if current is not None:
            return await self._execute(current.connection, ddl, None)
        async with self._write_lock():
            return await self._execute(await self._writer(), ddl, None)

    def transaction(
        self, transaction_type: TransactionType = TransactionType.immediate, allow_nested: bool = True
    ) -> SQLiteTransaction:
        # Every transaction here may write, so every one is IMMEDIATE whatever the caller asked.
        return WriterTransaction(engine=self, transaction_type=TransactionType.immediate, allow_nested=allow_nested)
