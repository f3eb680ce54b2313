"""PostgreSQL through Piccolo's asyncpg engine, sized and bounded by the settings.

Every process keeps its own pool (VOISINAGE_DB_POOL_MIN to _MAX connections):
N processes on M hosts open up to N × M × max connections, which must stay
under the server's `max_connections`. A statement of the server that runs
longer than VOISINAGE_DB_STATEMENT_TIMEOUT_MS is cancelled by PostgreSQL
itself (`statement_timeout`, set when each pooled connection opens): a slow
query or a table held by a long lock then costs one request a clean 503, not
every connection of the pool for as long as it lasts. asyncpg's own command
timeout, a little longer, gives up on a server that no longer answers at all.

Migrations and imports run statements that may rightly take minutes, so
`start_connection_pool(bounded=False)` leaves them unbounded; connections
opened apart from the pool (the migration lock's) are unbounded too.

A connection goes back to the pool without asyncpg's reset statement
(advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL): it doubled the round trips
of every query, and nothing here leaves such session state on a pooled
connection (the migration lock and the LISTEN of app.live have connections of
their own; settings are per statement or per transaction). asyncpg still rolls
back a transaction left open.

After every statement that writes, and again when its transaction ends, this
process's memories of sessions and feed pages that read the tables it wrote
forget what they hold (app.db.memory): the page that follows a logout or a
change, served by the same process, reads them anew.

Connections are handed out in the order they were asked for (`FairPool`).
asyncpg's own queue lets a newcomer take a connection just given back while
the request woken for it has not run yet, and the woken one goes to the back
of the queue: under load, some requests lost their turn at each of their
queries, and the feed's p99 at 50 connections was five times its p50.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.querystring import QueryString

from app.db import memory
from app.settings import Settings

log = logging.getLogger("voisinage.db")


class VoisinagePostgresEngine(PostgresEngine):
    def __init__(self, settings: Settings) -> None:
        super().__init__(config={"dsn": settings.database_url, "timeout": settings.db_timeout})
        self.pool_size = (settings.db_pool_min, settings.db_pool_max)
        self.timeout = settings.db_timeout
        self.statement_timeout_ms = settings.db_statement_timeout_ms

    async def start_connection_pool(self, *, bounded: bool = True, **kwargs: Any) -> None:
        options: dict[str, Any] = {
            "min_size": self.pool_size[0],
            "max_size": self.pool_size[1],
            "reset": _no_session_state,
        }
        if bounded and self.statement_timeout_ms:
            options["server_settings"] = {"statement_timeout": str(self.statement_timeout_ms)}
            options["command_timeout"] = self.statement_timeout_ms / 1000 + self.timeout
        await super().start_connection_pool(**{**options, **kwargs})
        self.pool = FairPool(self.pool, kwargs.get("max_size", self.pool_size[1]))

    async def close_connection_pool(self) -> None:
        # asyncpg waits for every borrowed connection to come back; one kept by
        # work that would not stop must not keep the process from exiting.
        if self.pool is None:
            return
        pool = self.pool.pool
        try:
            await asyncio.wait_for(pool.close(), self.timeout + 5)
        except TimeoutError:
            log.error("database pool: connections still borrowed at exit, closed by force")
            pool.terminate()
        self.pool = None

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        try:
            return await super().run_querystring(querystring, in_pool)
        finally:
            if not _reads_only(querystring.template):
                # Compiled once more, for writes only: rare beside the reads.
                touched = memory.touched_by(querystring.compile_string(engine_type=self.engine_type)[0])
                for remembered in touched:
                    remembered.forget_all()
                transaction = self.current_transaction.get()
                if isinstance(transaction, _TellingTransaction):
                    transaction.touched.update(touched)

    async def run_ddl(self, ddl: str, in_pool: bool = True):
        try:
            return await super().run_ddl(ddl, in_pool)
        finally:
            memory.forget_all()

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _TellingTransaction(engine=self, allow_nested=allow_nested)


def _reads_only(template: str) -> bool:
    """Piccolo's reads start with SELECT; its writes, and anything else
    (WITH, DDL), count as writes."""
    return template.lstrip()[:6].upper() == "SELECT"


class _TellingTransaction(PostgresTransaction):
    """Makes the memories its statements touched forget again once it has
    ended: a read made by another request of this process while it was open
    saw the rows as they were before."""

    def __init__(self, engine: PostgresEngine, allow_nested: bool = True) -> None:
        super().__init__(engine=engine, allow_nested=allow_nested)
        self.touched: set[memory.Memory] = set()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        finally:
            for remembered in self.touched:
                remembered.forget_all()


async def _no_session_state(connection: Any) -> None:
    """asyncpg's pool `reset` hook: nothing to undo (see the module's docstring;
    the address import's session settings are on a connection of its own too)."""


class FairPool:
    """asyncpg's pool behind a first-come, first-served turn: what Piccolo,
    its transactions and the few raw callers use of it (`acquire`, awaited
    or as a context, `release`, `fetch`), the rest passed through.

    The turn is a semaphore of the pool's size, and Python's (3.11.1 and
    later) wakes its waiters in order and keeps a freed place for the one it
    wakes, so a connection is only asked of asyncpg when one is free."""

    def __init__(self, pool: Any, size: int) -> None:
        self.pool = pool
        self._turns = asyncio.Semaphore(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    def acquire(self, *, timeout: float | None = None) -> _Turn:
        return _Turn(self, timeout)

    async def _acquire(self, timeout: float | None) -> Any:
        async with asyncio.timeout(timeout):  # None: as long as it takes, as asyncpg's
            await self._turns.acquire()
        try:
            return await self.pool.acquire(timeout=timeout)
        except BaseException:
            self._turns.release()
            raise

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        try:
            await self.pool.release(connection, timeout=timeout)
        finally:
            self._turns.release()

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list:
        async with self.acquire() as connection:
            return await connection.fetch(query, *args, timeout=timeout)


class _Turn:
    """`await pool.acquire()` (released by `pool.release`) or `async with pool.acquire() as connection`."""

    def __init__(self, pool: FairPool, timeout: float | None) -> None:
        self.fair_pool = pool
        self.timeout = timeout
        self.connection: Any = None

    def __await__(self):
        return self.fair_pool._acquire(self.timeout).__await__()

    async def __aenter__(self) -> Any:
        self.connection = await self.fair_pool._acquire(self.timeout)
        return self.connection

    async def __aexit__(self, *_: object) -> None:
        await self.fair_pool.release(self.connection)
