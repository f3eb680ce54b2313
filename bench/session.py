"""What the unread count in every page's navigation costs the session lookup.

    python -m bench.session                       # SQLite in a temporary directory
    DATABASE_URL=postgresql://… python -m bench.session   # an empty PostgreSQL database

Seeds 2,000 neighbours with 100 read notifications each (200,000 rows), then
times the session lookup's SQL, one at a time, for a neighbour with 0, 10 and
500 unread:
- without the count (as before),
- with the count in the same statement (as now),
- followed by a count of its own (the other way to do it).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone

os.environ.setdefault("VOISINAGE_DATA_DIR", tempfile.mkdtemp(prefix="voisinage-bench-"))
os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")

PEOPLE = 2000
PER_PERSON = 100
LOOKUPS = 1000
ROUNDS = 5


async def _seed() -> dict[int, str]:
    from app.accounts.sessions import start_session
    from app.accounts.tables import User
    from app.notify.tables import Notification

    now = datetime.now(timezone.utc)
    ids = []
    for start in range(0, PEOPLE, 500):  # PostgreSQL takes 32,767 parameters a statement at most
        users = await User.insert(
            *[
                User(email=f"banc{n}@banc.fr", password_hash="x", first_name="Banc", last_name=str(n))
                for n in range(start, start + 500)
            ]
        )
        ids += [u["id"] for u in users]
    for start in range(0, len(ids), 5):
        await Notification.insert(
            *[
                Notification(
                    user=u,
                    kind="message",
                    url="/feed",
                    text="Bonjour",
                    created_at=now - timedelta(minutes=i),
                    read_at=now,
                )
                for u in ids[start : start + 5]
                for i in range(PER_PERSON)
            ]
        )
    tokens = {}
    for unread, user in zip((0, 10, 500), ids, strict=False):
        if unread:
            await Notification.insert(
                *[Notification(user=user, kind="message", url="/feed", text="Bonjour") for _ in range(unread)]
            )
        tokens[unread] = await start_session(user)
    return tokens


async def _time(lookup, token: str) -> float:
    for _ in range(100):
        await lookup(token)
    start = time.perf_counter()
    for _ in range(LOOKUPS):
        await lookup(token)
    return (time.perf_counter() - start) / LOOKUPS * 1e6


async def main() -> None:
    from app.accounts import sessions
    from app.accounts.tables import Session
    from app.migrating import migrate
    from app.notify.queries import unread_count
    from app.piccolo_conf import DB

    await DB.start_connection_pool()
    try:
        await migrate(quiet=True)
        tokens = await _seed()
        with_count, _names = sessions._session_sql()
        count = with_count[with_count.index(", (SELECT COUNT") : with_count.index(" FROM user_session")]
        without = with_count.replace(count, "")

        async def before(token: str):
            return await Session.raw(without, sessions._hash(token))

        async def now(token: str):
            return await Session.raw(with_count, sessions._hash(token))

        async def separate(token: str):
            row = (await before(token))[0]
            return row, await unread_count(row["id"])

        print(
            f"engine: {'PostgreSQL' if 'DATABASE_URL' in os.environ else 'SQLite'}; µs per session lookup "
            f"(the SQL alone), one at a time, best of {ROUNDS} rounds of {LOOKUPS}"
        )
        print(f"{'unread':>8} {'without count':>14} {'same statement':>15} {'separate count':>15}")
        for unread, token in tokens.items():
            best = [min([await _time(way, token) for _ in range(ROUNDS)]) for way in (before, now, separate)]
            print(f"{unread:>8} {best[0]:>14.0f} {best[1]:>15.0f} {best[2]:>15.0f}")
    finally:
        await DB.close_connection_pool()


if __name__ == "__main__":
    asyncio.run(main())
