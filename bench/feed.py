"""The feed under load, against one real server process on SQLite.

    python -m bench.feed                 # 1,000,000 posts over 500 quartiers
    python -m bench.feed --posts 100000  # a quicker run

Prints, measured in this one run:
- the logged-in /feed page's throughput as a fraction of the same server's
  plaintext route (/ping), at the same concurrency;
- the feed's p99 latency at 50 concurrent connections;
- the feed's cost (mean latency, one connection) at 10,000 posts and again
  once the same database holds them all, and the ratio;
- the compressed size of the first feed HTML, and of everything a first visit
  downloads except photos.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from app import search
from bench.load import Connection, run

ROOT = Path(__file__).resolve().parent.parent
HOODS = 500
AUTHORS_PER_HOOD = 4
PASSWORD = "banc d'essai du quartier"
KINDS = ["give", "lend", "borrow", "help_request", "help_offer", "tip", "lost_found", "discussion"]
WORDS = (
    "perceuse vélo poussette table chaise livres jardin voisin marché fête repas outils escabeau "
    "armoire canapé plantes chat clés cours aide courses bricolage informatique"
).split()


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "VOISINAGE_DATA_DIR": str(data_dir),
        "VOISINAGE_ACCESS_LOG": "0",
        "VOISINAGE_BACKGROUND_WORK": "0",
    }
    env.pop("DATABASE_URL", None)
    return env


def seed_people(db: sqlite3.Connection) -> None:
    sys.path.insert(0, str(ROOT))
    from argon2 import PasswordHasher

    from app.neighbourhoods import geometry

    now = datetime.now(timezone.utc).isoformat(sep=" ")
    password_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    for n in range(HOODS):
        lat, lon = 40.0 + (n % 25) * 0.05, -25.0 - (n // 25) * 0.05
        shape = geometry.circle_polygon(lat, lon, 500)
        min_lat, max_lat, min_lon, max_lon = geometry.bbox(shape)
        c_lat, c_lon = geometry.centre(shape)
        db.execute(
            "INSERT INTO neighbourhood (slug, name, city, postcode, boundary, min_lat, max_lat, min_lon, max_lon, "
            "centre_lat, centre_lon, status, requires_verification, member_count, created_at) "
            "VALUES (?, ?, 'Banc', '99000', ?, ?, ?, ?, ?, ?, ?, 'open', 0, ?, ?)",
            (
                f"banc-{n}",
                f"Quartier {n}",
                json.dumps(shape),
                min_lat,
                max_lat,
                min_lon,
                max_lon,
                c_lat,
                c_lon,
                AUTHORS_PER_HOOD,
                now,
            ),
        )
    neighbourhood_ids = [r[0] for r in db.execute("SELECT id FROM neighbourhood ORDER BY id")]
    db.executemany(
        "INSERT INTO account (email, password_hash, first_name, last_name, neighbourhood, verification, role, bio, "
        "skills, locale, notification_prefs, suspension_reason, created_at) "
        "VALUES (?, ?, ?, 'Banc', ?, 'address_checked', 'member', '', '[]', 'fr', '{}', '', ?)",
        [
            (f"voisin{h}.{a}@banc.fr", password_hash, f"Voisin{a}", h, now)
            for h in neighbourhood_ids
            for a in range(AUTHORS_PER_HOOD)
        ],
    )
    db.commit()


def seed_posts(db: sqlite3.Connection, start: int, stop: int) -> None:
    """Posts numbered start..stop-1, spread over every quartier, oldest first."""
    authors = db.execute("SELECT id, neighbourhood FROM account ORDER BY id").fetchall()
    rng = random.Random(start)
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    batch = []
    for i in range(start, stop):
        author, neighbourhood = authors[i % len(authors)]
        words = rng.sample(WORDS, 6)
        created = (base + timedelta(seconds=30 * i)).isoformat(sep=" ")
        batch.append(
            (
                neighbourhood,
                author,
                KINDS[i % len(KINDS)],
                f"{words[0].capitalize()} {words[1]} n°{i}",
                " ".join(words * 6),
                created,
                created,
            )
        )
        if len(batch) == 50_000:
            _insert(db, batch)
            batch = []
    if batch:
        _insert(db, batch)


def _insert(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO post (neighbourhood, author, kind, title, body, status, details, pinned, locked, hidden_reason, "
        "reply_count, photo_count, cover, cover_width, cover_height, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'open', '{}', 0, 0, '', 0, 0, '', 0, 0, ?, ?)",
        rows,
    )
    db.commit()


class Server:
    def __init__(self, data_dir: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=_env(data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)


def login(url: str) -> str:
    with httpx.Client(base_url=url) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        response = client.post(
            "/login", data={"email": "voisin1.0@banc.fr", "password": PASSWORD, "_csrf_token": token}
        )
        assert response.status_code == 303, response.text
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def cost(url: str, cookie: str, requests: int = 200, rounds: int = 5) -> float:
    """Time of one feed page, one request at a time (no queueing): the
    median of a few rounds, as the machine is shared and noisy."""
    conn = Connection(url, {"Cookie": cookie})
    for _ in range(30):
        await conn.get("/feed")
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(requests):
            status, _body = await conn.get("/feed")
            assert status == 200
        results.append((time.perf_counter() - start) / requests * 1000)
    await conn.close()
    return sorted(results)[len(results) // 2]


async def sizes(url: str, cookie: str) -> tuple[int, int, list[str]]:
    conn = Connection(url, {"Cookie": cookie, "Accept-Encoding": "gzip"})
    _status, html = await conn.get("/feed")
    text = gzip.decompress(html).decode()
    assets = re.findall(r'<(?:link|script)[^>]+(?:href|src)="(/[^"]+)"', text)
    total = len(html)
    for asset in list(assets):
        status, body = await conn.get(asset)
        if status != 200:
            assets.remove(asset)
            continue
        total += len(body)
    await conn.close()
    return len(html), total, assets


async def measure(server: Server, cookie: str, seconds: float) -> dict:
    plain = await run(server.url, "/ping", connections=10, seconds=seconds, headers={})
    feed = await run(server.url, "/feed", connections=10, seconds=seconds, headers={"Cookie": cookie})
    return {"plain": plain, "feed": feed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    first = min(10_000, args.posts)

    with tempfile.TemporaryDirectory(prefix="voisinage-bench-") as tmp:
        data_dir = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"],
            cwd=ROOT,
            env=_env(data_dir),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        db = sqlite3.connect(data_dir / "voisinage.sqlite3")
        # The search index triggers stem French words with the app's function (app/search.py).
        db.create_function("voisinage_stems", 1, search.index_text, deterministic=True)
        seed_people(db)
        started = time.perf_counter()
        seed_posts(db, 0, first)
        server = Server(data_dir)
        try:
            cookie = login(server.url)
            small = asyncio.run(cost(server.url, cookie))
            print(f"feed cost at {first:,} posts: {small:.2f} ms per page")
            seed_posts(db, first, args.posts)
            db.execute("ANALYZE")
            db.commit()
            # Steady state: what the server's own checkpoints reach once the
            # bulk load is over, instead of readers wading through a huge WAL.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            print(f"seeded {args.posts:,} posts over {HOODS} quartiers in {time.perf_counter() - started:.0f} s")
            large = asyncio.run(cost(server.url, cookie))
            print(
                f"feed cost at {args.posts:,} posts: {large:.2f} ms per page "
                f"(ratio {large / small:.2f}, goal within 10 %)"
            )
            result = asyncio.run(measure(server, cookie, args.seconds))
            plain, feed = result["plain"], result["feed"]
            print(
                f"plaintext /ping: {plain['rps']:,.0f} req/s; logged-in /feed: {feed['rps']:,.0f} req/s "
                f"-> feed = {feed['rps'] / plain['rps']:.1%} of plaintext (goal >= 10 %), errors {feed['errors']}"
            )
            fifty = asyncio.run(
                run(server.url, "/feed", connections=50, seconds=args.seconds, headers={"Cookie": cookie})
            )
            print(
                f"/feed at 50 connections: {fifty['rps']:,.0f} req/s, p50 {fifty['p50_ms']:.0f} ms, "
                f"p99 {fifty['p99_ms']:.0f} ms, errors {fifty['errors']}"
            )
            html, total, assets = asyncio.run(sizes(server.url, cookie))
            print(
                f"first feed HTML: {html / 1024:.1f} KB gzip (goal <= 14 KB); first visit without photos: "
                f"{total / 1024:.1f} KB (goal <= 40 KB) for {len(assets)} assets"
            )
        finally:
            server.stop()
            db.close()


if __name__ == "__main__":
    main()
