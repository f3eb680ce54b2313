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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from piccolo.engine.postgres import PostgresEngine

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

    async def close_connection_pool(self) -> None:
        # asyncpg waits for every borrowed connection to come back; one kept by
        # work that would not stop must not keep the process from exiting.
        pool = self.pool
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self.timeout + 5)
        except TimeoutError:
            log.error("database pool: connections still borrowed at exit, closed by force")
            pool.terminate()
        self.pool = None


async def _no_session_state(connection: Any) -> None:
    """asyncpg's pool `reset` hook: nothing to undo (see the module's docstring;
    the address import's session settings are on a connection of its own too)."""
