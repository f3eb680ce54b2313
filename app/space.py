"""Running out of disk space: recognising it in an error, and telling /healthz.

A full disk shows up as SQLite's SQLITE_FULL, PostgreSQL's disk_full
(SQLSTATE 53100, "could not extend file") or ENOSPC from spooling an upload.
The data dir holds the SQLite database (photos included) and the uploads
while they arrive, so its free space is measured; a PostgreSQL server's disk may be on another machine, so its last
"disk full" answer is remembered for a while instead.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import time

from app.settings import Settings

# Below this, a post with four photos (~2 MB of WebP) may no longer fit.
MIN_FREE_BYTES = 4 * 1024 * 1024
DATABASE_FULL_FOR = 60.0

_database_full_at: float | None = None


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _database_full(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "53100"


def out_of_space(exc: BaseException) -> bool:
    """Whether this error, or one it arose from, says a disk is full."""
    for cause in _chain(exc):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(cause, sqlite3.Error) and (getattr(cause, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL:
            return True
        if _database_full(cause):
            return True
    return False


def noticed(exc: BaseException) -> None:
    """Called with every out-of-space error a request met."""
    global _database_full_at
    if any(_database_full(cause) for cause in _chain(exc)):
        _database_full_at = time.monotonic()


def short_of_space(settings: Settings) -> bool:
    try:
        if shutil.disk_usage(settings.data_dir).free < MIN_FREE_BYTES:
            return True
    except OSError:
        return True
    return _database_full_at is not None and time.monotonic() - _database_full_at < DATABASE_FULL_FOR
