"""Each process remembers the sessions it looked up, so that a signed-in page
view does not pay a database round trip for its session: on PostgreSQL the
lookup cost a signed-in request a third of what an anonymous one costs in all.

What a remembered session was read from (its session row, the account, the
account's unread notifications and its blocks, app.accounts.sessions) may
change at any moment, through any process. So the memory forgets:

- everything, after any write by this process: the PostgreSQL engine says so
  after every statement that is not a plain SELECT and after every
  transaction (`app.db.postgres`), before the request that wrote answers;
- on SQLite, everything, whenever a transaction committed through any other
  connection to the file since it last looked (PRAGMA data_version: this
  process's writer and every other process alike);
- on PostgreSQL, an account's sessions as soon as a trigger on those tables
  says it changed (migration 0031: NOTIFY at commit, heard on the LISTEN
  connection of app.live), and everything whenever that connection is lost
  or opened anew. While it is down, nothing is remembered.

A lookup that began before a forgetting does not keep what it read (it may
have read the rows before the change). An entry lives at most LIFETIME
seconds whatever happens, and the memory holds at most SIZE sessions.

Only reads use it: a request that may change something (any method but GET
and HEAD) reads its session from the database, so the moment a notice takes
to cross between processes (a fraction of a millisecond to a few) never lets
an ended session act.
"""

from __future__ import annotations

import time
from typing import Any

from app.db import VoisinageSQLiteEngine

# The channel of migration 0031's triggers; the payload is an account id.
CHANNEL = "voisinage_sessions"
LIFETIME = 30.0
# About 2 kB a session: some 10 MB at most, for a process that saw 5,000
# people within LIFETIME.
SIZE = 5_000


class SessionMemory:
    def __init__(self, *, size: int = SIZE, lifetime: float = LIFETIME) -> None:
        self.size = size
        self.lifetime = lifetime
        self._rows: dict[str, tuple[float, dict[str, Any]]] = {}
        self._tokens_of: dict[int, set[str]] = {}
        # Counts the forgettings: a lookup keeps what it read only if none happened meanwhile.
        self.forgettings = 0
        self._data_version: int | None = None
        # Set by app.live while its LISTEN connection is open (PostgreSQL).
        self.hearing = False

    def usable(self, db: Any) -> bool:
        """Whether what is remembered can be trusted now, on this engine."""
        if isinstance(db, VoisinageSQLiteEngine):
            version = db.data_version()
            if version != self._data_version:
                self.forget_all()
                self._data_version = version
            return version is not None
        return self.hearing

    def heard_again(self, hearing: bool) -> None:
        """The LISTEN connection opened (`hearing`) or was lost: notices may have been missed either way."""
        self.hearing = hearing
        self.forget_all()

    def recall(self, token_hash: str) -> dict[str, Any] | None:
        entry = self._rows.get(token_hash)
        if entry is None:
            return None
        read_at, row = entry
        if time.monotonic() - read_at > self.lifetime:
            self._drop(token_hash)
            return None
        return row

    def keep(self, token_hash: str, row: dict[str, Any], forgettings_before: int) -> None:
        if forgettings_before != self.forgettings:
            return
        if token_hash not in self._rows and len(self._rows) >= self.size:
            # The oldest first: dicts keep the order things were put in.
            self._drop(next(iter(self._rows)))
        self._rows[token_hash] = (time.monotonic(), row)
        self._tokens_of.setdefault(row["id"], set()).add(token_hash)

    def forget_account(self, account_id: int | None) -> None:
        """What a notice names (None: a notice not understood, so everything)."""
        if account_id is None:
            self.forget_all()
            return
        self.forgettings += 1
        for token_hash in self._tokens_of.pop(account_id, ()):
            self._rows.pop(token_hash, None)

    def forget_all(self) -> None:
        self.forgettings += 1
        self._rows.clear()
        self._tokens_of.clear()

    def _drop(self, token_hash: str) -> None:
        entry = self._rows.pop(token_hash, None)
        if entry is not None:
            account_id = entry[1]["id"]
            tokens = self._tokens_of.get(account_id)
            if tokens is not None:
                tokens.discard(token_hash)
                if not tokens:
                    del self._tokens_of[account_id]

    def __len__(self) -> int:
        return len(self._rows)


MEMORY = SessionMemory()
