"""The SQLite engine under the load a busy evening brings: concurrent
read-then-write requests, failures inside transactions, and shutdown."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from app.settings import ROOT, get_settings

pytestmark = pytest.mark.skipif(get_settings().is_postgres, reason="the SQLite engine only")


async def _fresh_engine(tmp_path, readers: int = 2):
    from app.db import VoisinageSQLiteEngine

    engine = VoisinageSQLiteEngine(path=str(tmp_path / "t.sqlite3"), readers=readers)
    await engine.start()
    await engine.run_ddl("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    await engine.run_ddl("INSERT INTO counter (id, n) VALUES (1, 0)")
    return engine


async def _read_then_write(engine) -> None:
    # The pattern that makes DEFERRED transactions fail with "database is
    # locked": read a value, then write a value computed from it.
    async with engine.transaction():
        rows = await engine._run("SELECT n FROM counter WHERE id = 1", None)
        await asyncio.sleep(0)
        await engine._run("UPDATE counter SET n = ? WHERE id = 1", [rows[0]["n"] + 1])


async def test_fifty_concurrent_read_then_write_transactions_all_count(tmp_path):
    engine = await _fresh_engine(tmp_path)
    try:
        results = await asyncio.gather(*(_read_then_write(engine) for _ in range(50)), return_exceptions=True)
        assert [r for r in results if isinstance(r, Exception)] == []
        rows = await engine._run("SELECT n FROM counter WHERE id = 1", None)
        # No lost update: every one of the 50 increments is there.
        assert rows[0]["n"] == 50
    finally:
        await engine.close()


async def test_readers_see_committed_writes_and_never_block_them(tmp_path):
    engine = await _fresh_engine(tmp_path, readers=3)
    try:

        async def reader():
            for _ in range(20):
                await engine._run("SELECT n FROM counter", None)

        async def writer():
            for _ in range(20):
                await engine._run("UPDATE counter SET n = n + 1 WHERE id = 1", None)

        await asyncio.gather(*(reader() for _ in range(5)), writer(), writer())
        assert (await engine._run("SELECT n FROM counter", None))[0]["n"] == 40
    finally:
        await engine.close()


async def test_a_failed_transaction_leaves_nothing_behind_and_frees_the_writer(tmp_path):
    engine = await _fresh_engine(tmp_path)
    try:
        with pytest.raises(RuntimeError):
            async with engine.transaction():
                await engine._run("UPDATE counter SET n = 99 WHERE id = 1", None)
                raise RuntimeError("the request failed half-way")
        assert (await engine._run("SELECT n FROM counter", None))[0]["n"] == 0
        # The next writer is not stuck behind the failed one.
        await asyncio.wait_for(_read_then_write(engine), timeout=5)
        assert (await engine._run("SELECT n FROM counter", None))[0]["n"] == 1
    finally:
        await engine.close()


async def test_nested_transactions_join_the_outer_one(tmp_path):
    engine = await _fresh_engine(tmp_path)
    try:
        async with engine.transaction():
            await engine._run("UPDATE counter SET n = 1 WHERE id = 1", None)
            async with engine.transaction():
                await engine._run("UPDATE counter SET n = n + 1 WHERE id = 1", None)
        assert (await engine._run("SELECT n FROM counter", None))[0]["n"] == 2
    finally:
        await engine.close()


def _run_script(tmp_path, body: str) -> subprocess.CompletedProcess:
    head = (
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from app.db import VoisinageSQLiteEngine\n"
        "async def main():\n"
        f"    engine = VoisinageSQLiteEngine(path={str(tmp_path / 'exit.sqlite3')!r})\n"
        "    await engine.start()\n"
    )
    tail = "    await engine.close()\nasyncio.run(main())\nprint('done')\n"
    script = head + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ") + tail
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)


def test_the_process_exits_once_the_engine_is_closed(tmp_path):
    done = _run_script(
        tmp_path,
        """
        await engine.run_ddl("CREATE TABLE t (x INTEGER)")
        await asyncio.gather(*(engine._run("SELECT 1", None) for _ in range(20)))
    """,
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr


def test_the_process_exits_even_after_a_failed_begin(tmp_path):
    # Another process holds the write lock past our busy timeout: BEGIN fails.
    done = _run_script(
        tmp_path,
        """
        import sqlite3
        await engine.run_ddl("CREATE TABLE t (x INTEGER)")
        holder = sqlite3.connect(engine.connection_kwargs["database"], timeout=0)
        holder.execute("BEGIN IMMEDIATE")
        import app.db
        app.db.BUSY_TIMEOUT_MS = 200
        engine2 = VoisinageSQLiteEngine(path=engine.connection_kwargs["database"])
        try:
            async with engine2.transaction():
                pass
        except Exception as exc:
            print("begin failed:", type(exc).__name__)
        holder.rollback()
        # The writer was given back: a later transaction goes through.
        async with engine2.transaction():
            await engine2._run("INSERT INTO t VALUES (1)", None)
        await engine2.close()
    """,
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    assert "begin failed" in done.stdout
