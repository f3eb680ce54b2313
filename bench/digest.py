"""The weekly digest for 10,000 members in 100 quartiers: rendered and queued.

    python -m bench.digest                                  # SQLite, in a temporary data dir
    python -m bench.digest --database-url postgresql://…    # an EMPTY PostgreSQL database
    python -m bench.digest --members 2000 --quartiers 20

Each quartier gets its members (some with skills, one in ten reading English),
fifteen listings, five help requests and three upcoming events. The timed part
is `app.notify.digest.run()`: the per-quartier queries, each member's mail
rendered (text and HTML) in their language, the rows inserted into the mail
outbox. Goal: <= 60 s for the default size on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SKILLS = ["bricolage", "informatique", "jardinage", "cuisine"]


async def seed(members: int, quartiers: int) -> None:
    from app.accounts.tables import User
    from app.events.tables import Event
    from app.neighbourhoods.tables import Neighbourhood
    from app.posts.tables import Post
    from tests.factories import make_neighbourhood

    now = datetime.now(timezone.utc)
    per = members // quartiers
    for q in range(quartiers):
        neighbourhood = await make_neighbourhood()
        await User.insert(
            *[
                User(
                    email=f"bench.{q}.{i}@exemple.fr",
                    password_hash="-",
                    first_name=f"Voisin{i}",
                    last_name=f"Q{q}",
                    neighbourhood=neighbourhood.id,
                    locale="en" if i % 10 == 0 else "fr",
                    skills=[SKILLS[i % len(SKILLS)]] if i % 3 == 0 else [],
                    # Half of them arrived during the week.
                    created_at=now - timedelta(days=1 if i % 2 else 30),
                )
                for i in range(per)
            ]
        )
        await Neighbourhood.update({Neighbourhood.member_count: per}).where(Neighbourhood.id == neighbourhood.id)
        author = (await User.select(User.id).where(User.email == f"bench.{q}.0@exemple.fr").first())["id"]
        kinds = ["give", "lend", "borrow", "help_offer", "tip"]
        posts = [
            Post(neighbourhood=neighbourhood.id, author=author, kind=kinds[i % 5], title=f"Annonce {i}", body="…")
            for i in range(15)
        ]
        posts += [
            Post(
                neighbourhood=neighbourhood.id,
                author=author,
                kind="help_request",
                title=f"Besoin d'aide {i}",
                body="…",
                details={"skill": SKILLS[i % len(SKILLS)]},
            )
            for i in range(5)
        ]
        events = [
            Post(neighbourhood=neighbourhood.id, author=author, kind="event", title=f"Fête {i}", body="…")
            for i in range(3)
        ]
        await Post.insert(*posts)
        made = await Post.insert(*events)
        await Event.insert(
            *[
                Event(
                    post=row["id"],
                    neighbourhood=neighbourhood.id,
                    starts_at=now + timedelta(days=i + 1),
                    ends_at=now + timedelta(days=i + 1, hours=2),
                    place="Square Darcy",
                )
                for i, row in enumerate(made)
            ]
        )


async def main(members: int, quartiers: int) -> None:
    from app.db import keys
    from app.migrating import migrate
    from app.notify import digest
    from app.notify.tables import MailDelivery
    from app.piccolo_conf import DB

    await DB.start_connection_pool()
    try:
        await migrate(quiet=True)
        await keys.load()
        await seed(members, quartiers)
        start, cpu = time.perf_counter(), time.process_time()
        queued = await digest.run()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert await MailDelivery.count().where(MailDelivery.kind == "digest") == queued
    finally:
        await DB.close_connection_pool()
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"{engine}: {members:,} members in {quartiers} quartiers")
    print(f"weekly digest rendered and queued: {queued:,} mails in {elapsed:.1f} s ({queued / elapsed:,.0f} mails/s)")
    # The machine may be shared: this process's own CPU time says what the work costs.
    print(f"CPU time of this process: {cpu:.1f} s; load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--quartiers", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ.update(
        {"VOISINAGE_DATA_DIR": tempfile.mkdtemp(prefix="voisinage-bench-digest-"), "PICCOLO_CONF": "app.piccolo_conf"}
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    asyncio.run(main(args.members, args.quartiers))
