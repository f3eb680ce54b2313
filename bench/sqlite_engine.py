"""Piccolo's stock SQLiteEngine against Voisinage's, in one run.

    python -m bench.sqlite_engine

Prints, for a 20-row feed-like read, queries per second with each engine and
their ratio; and, for 50 concurrent read-then-write transactions, how many
failed with "database is locked" and whether the final count is exact.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.db import VoisinageSQLiteEngine

READS = 2000
CONCURRENCY = 10


def _seed(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE post (id INTEGER PRIMARY KEY, neighbourhood INTEGER, title TEXT, body TEXT, created_at TEXT)"
    )
    db.execute("CREATE INDEX post_feed ON post (neighbourhood, created_at, id)")
    db.executemany(
        "INSERT INTO post (neighbourhood, title, body, created_at) VALUES (?, ?, ?, ?)",
        (
            (
                i % 50,
                f"Annonce {i}",
                "Perceuse à prêter, passez quand vous voulez. " * 4,
                f"2026-11-{i % 28 + 1:02d}T{i % 24:02d}:00",
            )
            for i in range(50_000)
        ),
    )
    db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
    db.execute("INSERT INTO counter VALUES (1, 0)")
    db.commit()
    db.close()


FEED = "SELECT id, title, body, created_at FROM post WHERE neighbourhood = 7 ORDER BY created_at DESC, id DESC LIMIT 20"


async def _reads_per_second(engine) -> float:
    async def worker(n: int) -> None:
        for _ in range(n):
            await engine._run_in_new_connection(FEED) if isinstance(engine, _Stock) else await engine._run(FEED, None)

    start = time.perf_counter()
    await asyncio.gather(*(worker(READS // CONCURRENCY) for _ in range(CONCURRENCY)))
    return READS / (time.perf_counter() - start)


class _Stock(SQLiteEngine):
    pass


async def _read_then_write(engine, deferred: bool) -> str:
    try:
        kind = TransactionType.deferred if deferred else TransactionType.immediate
        async with engine.transaction(transaction_type=kind) as tx:
            rows = (
                await tx.connection.execute_fetchall("SELECT n FROM counter WHERE id = 1")
                if deferred
                else await engine._run("SELECT n FROM counter WHERE id = 1", None)
            )
            n = rows[0]["n"] + 1
            await asyncio.sleep(0.001)
            if deferred:
                await tx.connection.execute("UPDATE counter SET n = ? WHERE id = 1", (n,))
            else:
                await engine._run("UPDATE counter SET n = ? WHERE id = 1", [n])
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the point is to count them
        return "locked" if "locked" in str(exc) else type(exc).__name__


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        _seed(path)
        stock = _Stock(path=str(path))
        ours = VoisinageSQLiteEngine(path=str(path), readers=4)
        await ours.start()

        stock_qps = await _reads_per_second(stock)
        ours_qps = await _reads_per_second(ours)
        print(
            f"feed read, {CONCURRENCY} concurrent: stock {stock_qps:,.0f} q/s, voisinage {ours_qps:,.0f} q/s, "
            f"ratio {ours_qps / stock_qps:.1f}x"
        )

        sqlite3.connect(path).execute("UPDATE counter SET n = 0").connection.commit()
        stock_results = await asyncio.gather(*(_read_then_write(stock, True) for _ in range(50)))
        stock_n = sqlite3.connect(path).execute("SELECT n FROM counter").fetchone()[0]
        sqlite3.connect(path).execute("UPDATE counter SET n = 0").connection.commit()
        ours_results = await asyncio.gather(*(_read_then_write(ours, False) for _ in range(50)))
        ours_n = sqlite3.connect(path).execute("SELECT n FROM counter").fetchone()[0]
        print(
            f"50 concurrent read-then-write: stock (DEFERRED) {stock_results.count('locked')} locked, count {stock_n}/50; "
            f"voisinage (IMMEDIATE, one writer) {ours_results.count('locked')} locked, count {ours_n}/50"
        )
        await ours.close()


if __name__ == "__main__":
    asyncio.run(main())
