"""What each process remembers of what it read for a page, so that the pages
every neighbour opens most do not pay a database round trip each time:

- `SESSIONS`: the session of a signed-in request (app.accounts.sessions),
  grouped by account. The lookup cost a signed-in request on PostgreSQL a
  third of what an anonymous one costs in all;
- `FEED_PAGES`: the first page of a quartier's feed as one reader sees it
  (app.posts.opening), grouped by quartier.

What a remembered value was read from may change at any moment, through any
process. So the memories forget:

- after a write by this process, everything a memory read from the table
  written (a DELETE, which may cascade, or a statement not understood:
  everything): the PostgreSQL engine says so after the statement and again
  after its transaction (`app.db.postgres`), before the request that wrote
  answers;
- on SQLite, everything, whenever a transaction committed through any other
  connection to the file since they last looked (PRAGMA data_version: this
  process's writer and every other process alike);
- on PostgreSQL, a group as soon as a trigger on the tables its values are
  read from names it (migrations 0031 and 0032: NOTIFY at commit, heard on
  the LISTEN connection of app.live), and everything whenever that
  connection is lost or opened anew. While it is down, nothing is remembered.

A read that began before a forgetting does not keep what it read (it may have
read the rows before the change). While a value is loaded, those asking for it
wait for that load (app.db.recent.OneReadPerKey). An entry lives at most LIFETIME seconds
whatever happens, and each memory holds so many entries at most.

A request that may change something (any method but GET and HEAD) reads its
session from the database, so the moment a notice takes to cross between
processes (a fraction of a millisecond to a few) never lets an ended session
act; a page view may, within that moment, show what was true just before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from app.db import VoisinageSQLiteEngine
from app.db.recent import OneReadPerKey

# The channels of the triggers of migrations 0031 and 0032: an account's
# id, a quartier's id (empty: every quartier).
SESSIONS_CHANNEL = "voisinage_sessions"
FEEDS_CHANNEL = "voisinage_feeds"
LIFETIME = 30.0


class Memory:
    def __init__(self, *, size: int, tables: Iterable[str], lifetime: float = LIFETIME) -> None:
        """`tables`: those its values are read from."""
        self.size = size
        self.tables = frozenset(tables)
        self.lifetime = lifetime
        self._entries: dict[Hashable, tuple[float, int, Any]] = {}
        self._keys_of: dict[int, set[Hashable]] = {}
        # Counts the forgettings: a read keeps what it found only if none happened meanwhile.
        self.forgettings = 0
        self._loads: OneReadPerKey[Any] = OneReadPerKey()

    async def read(
        self, db: Any, key: Hashable, load: Callable[[], Awaitable[Any]], group_of: Callable[[Any], int]
    ) -> Any | None:
        """The value under `key`: remembered when the memories may be used
        now (`usable`), else `load()`ed and kept under `group_of(value)`.
        None is never kept."""
        if not usable(db):
            return await load()
        found = self.recall(key)
        if found is not None:
            return found
        forgettings_before = self.forgettings

        def keep(value: Any) -> None:
            if value is not None:
                self.keep(key, group_of(value), value, forgettings_before)

        # An entry grown old is asked for by every request of its reader at
        # once (several tabs, a phone and a computer): one load for them all.
        return await self._loads.read(key, load, keep)

    def recall(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        read_at, _group, value = entry
        if time.monotonic() - read_at > self.lifetime:
            self._drop(key)
            return None
        return value

    def keep(self, key: Hashable, group: int, value: Any, forgettings_before: int) -> None:
        if forgettings_before != self.forgettings:
            return
        if key in self._entries:
            self._drop(key)
        elif len(self._entries) >= self.size:
            # The oldest first: dicts keep the order things were put in.
            self._drop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic(), group, value)
        self._keys_of.setdefault(group, set()).add(key)

    def forget_group(self, group: int | None) -> None:
        """What a notice names (None: a notice that names no one, so everything)."""
        if group is None:
            self.forget_all()
            return
        self.forgettings += 1
        for key in self._keys_of.pop(group, ()):
            self._entries.pop(key, None)
        # Which group a load under way reads is known once it is done: none is joined any more.
        self._loads.clear()

    def forget_all(self) -> None:
        self.forgettings += 1
        self._entries.clear()
        self._keys_of.clear()
        self._loads.clear()

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            keys = self._keys_of.get(entry[1])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys_of[entry[1]]

    def __len__(self) -> int:
        return len(self._entries)


# About 2 kB a session: some 10 MB at most, for a process that saw 5,000
# people within LIFETIME.
SESSIONS = Memory(size=5_000, tables=("user_session", "account", "notification", "block"))
# About 40 kB a page (21 cards): some 10 MB at most.
FEED_PAGES = Memory(size=250, tables=("post", "event", "ride", "poll", "thanks", "saved_post", "account"))
_MEMORIES = (SESSIONS, FEED_PAGES)
# The table each INSERT, UPDATE or DELETE of a statement writes (CTEs included).
_WRITES = re.compile(r'\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def touched_by(sql: str) -> tuple[Memory, ...]:
    """The memories a statement that writes may have made wrong: those that
    read the tables it writes; every one for a DELETE (its cascades reach
    further) or a statement whose writes are not understood."""
    writes = _WRITES.findall(sql)
    if not writes:
        return _MEMORIES
    touched = []
    for verb, table in writes:
        if verb[0] in "dD":
            return _MEMORIES
        touched.extend(m for m in _MEMORIES if table.lower() in m.tables and m not in touched)
    return tuple(touched)


class _Freshness:
    """Whether what the memories hold can be trusted now."""

    def __init__(self) -> None:
        self.data_version: int | None = None
        # Set by app.live while its LISTEN connection is open (PostgreSQL).
        self.hearing = False


_FRESHNESS = _Freshness()


def usable(db: Any) -> bool:
    """Whether the memories may be read and added to now, on this engine."""
    if isinstance(db, VoisinageSQLiteEngine):
        version = db.data_version()
        if version != _FRESHNESS.data_version:
            forget_all()
            _FRESHNESS.data_version = version
        return version is not None
    return _FRESHNESS.hearing


def forget_all() -> None:
    for memory in _MEMORIES:
        memory.forget_all()


def heard_again(*, hearing: bool) -> None:
    """The LISTEN connection opened (`hearing`) or was lost: notices may have been missed either way."""
    _FRESHNESS.hearing = hearing
    forget_all()


def hearing() -> bool:
    return _FRESHNESS.hearing
