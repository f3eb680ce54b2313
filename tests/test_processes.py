"""Several Voisinage processes on one database, as behind a load balancer:
rate limits they all count together, migrations that ten processes starting
at once run only once, and one server with several worker processes."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from app import ratelimits
from app.neighbourhoods import queries as neighbourhoods
from app.ratelimits import RateLimit
from app.settings import ROOT, get_settings
from tests.factories import make_user, post_form
from tests.server import ServerProcess, signed_in_on

pytestmark = pytest.mark.server


async def test_signup_attempts_from_one_address_are_counted_across_two_server_processes():
    servers = [ServerProcess(), ServerProcess()]
    # The same person behind the proxy, whichever process the balancer picks.
    same_person = {"X-Forwarded-For": "203.0.113.7"}
    clients = [httpx.AsyncClient(base_url=s.url, headers=same_person, timeout=30) for s in servers]
    try:
        empty_form = {"first_name": "", "last_name": "", "email": "", "password": ""}
        statuses = [(await post_form(clients[i % 2], "/signup", empty_form)).status_code for i in range(10)]
        assert statuses == [422] * 10
        refused = await post_form(clients[1], "/signup", empty_form)
        assert refused.status_code == 429
        assert "Trop de tentatives" in refused.text and refused.headers["retry-after"]
        # A neighbour at another address is not held back by it.
        elsewhere = httpx.AsyncClient(base_url=servers[0].url, headers={"X-Forwarded-For": "198.51.100.20"})
        async with elsewhere:
            assert (await post_form(elsewhere, "/signup", empty_form)).status_code == 422
    finally:
        for client in clients:
            await client.aclose()
        for server in servers:
            server.stop()


async def test_attempts_are_allowed_again_once_the_window_ends_and_no_address_is_stored_in_clear():
    key = "reset:192.0.2.44"
    assert [await ratelimits.hit(key, 2, 0.5) for _ in range(3)] == [True, True, False]
    await asyncio.sleep(0.6)
    assert await ratelimits.hit(key, 2, 0.5)
    assert "192.0.2.44" not in str(await RateLimit.select())
    await asyncio.sleep(0.6)
    await ratelimits.prune()
    assert not await RateLimit.exists().where(RateLimit.key_hash == ratelimits.key_hash(key))


@pytest.fixture
async def empty_database(tmp_path):
    """The environment of processes starting on an empty database of the
    engine under test (a fresh PostgreSQL database next to the test one)."""
    env = {"VOISINAGE_DATA_DIR": str(tmp_path)}
    if not get_settings().is_postgres:
        yield env
        return
    url = urlsplit(get_settings().database_url)
    name = f"{url.path.lstrip('/')}_fresh"
    admin = await asyncpg.connect(get_settings().database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield {**env, "DATABASE_URL": urlunsplit(url._replace(path=f"/{name}"))}
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _each_migration_ran_once(env: dict[str, str]) -> bool:
    """What the migration table of that database lists: every migration, once."""
    if "DATABASE_URL" not in env:
        with sqlite3.connect(Path(env["VOISINAGE_DATA_DIR"]) / "voisinage.sqlite3") as db:
            names = [name for (name,) in db.execute("SELECT name FROM migration")]
    else:
        db = await asyncpg.connect(env["DATABASE_URL"])
        try:
            names = [row["name"] for row in await db.fetch("SELECT name FROM migration")]
        finally:
            await db.close()
    return len(names) == len(set(names)) == len(list((ROOT / "migrations").glob("voisinage_0*.py")))


async def test_ten_processes_migrating_an_empty_database_at_once_all_succeed_and_each_migration_runs_once(
    empty_database,
):
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "migrate"],
            cwd=ROOT,
            env={**os.environ, **empty_database},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    errors = [p.communicate(timeout=300)[1] for p in processes]
    failures = [error for p, error in zip(processes, errors, strict=True) if p.returncode != 0]
    assert not failures, f"{len(failures)} of 10 failed:\n{failures[0]}"
    assert await _each_migration_ran_once(empty_database)


async def test_two_servers_started_together_on_an_empty_database_both_come_up(empty_database, tmp_path):
    # Two hosts on PostgreSQL, each with its own data folder; one folder on SQLite, which is one machine.
    folders = [tmp_path / "a", tmp_path / "b"] if "DATABASE_URL" in empty_database else [tmp_path, tmp_path]
    servers = [ServerProcess({**empty_database, "VOISINAGE_DATA_DIR": str(folder)}, wait=False) for folder in folders]
    try:
        for server in servers:
            server.ready(timeout=60)
            assert httpx.get(server.url + "/ping").text == "pong"
    finally:
        for server in servers:
            server.stop()
    assert await _each_migration_ran_once({**empty_database, "VOISINAGE_DATA_DIR": str(folders[0])})


@pytest.mark.skipif(not get_settings().is_postgres, reason="statement_timeout is PostgreSQL's")
async def test_a_page_held_up_past_the_statement_timeout_answers_a_clean_503_and_the_next_one_is_served():
    neighbour = await make_user(await neighbourhoods.by_slug("dijon-centre"))
    server = ServerProcess({"VOISINAGE_DB_STATEMENT_TIMEOUT_MS": "300"})
    browser = await signed_in_on(server.url, neighbour)
    # Someone else's long transaction (a slow maintenance query) holds the posts.
    other = await asyncpg.connect(get_settings().database_url)
    try:
        async with other.transaction():
            await other.execute("LOCK TABLE post IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            held_up = await browser.get("/feed")
            assert time.monotonic() - started < 5
            assert held_up.status_code == 503
            assert "Service momentanément indisponible" in held_up.text and held_up.headers["retry-after"]
            await other.execute("SELECT pg_sleep(0.2)")
        assert (await browser.get("/feed")).status_code == 200
    finally:
        await other.close()
        await browser.aclose()
        server.stop()
    assert "Traceback" not in server.output()


@pytest.mark.skipif(not get_settings().is_postgres, reason="the connection pool is PostgreSQL's")
async def test_under_load_database_connections_go_to_requests_in_the_order_they_asked():
    """Forty requests arrive one after the other, each running four queries
    on a pool of three connections. None is passed by more than the two
    others holding a connection at each of its queries (2 x 4). asyncpg's own
    queue lets a request that just asked take a connection before those
    waiting for it: there the last ones to arrive finished among the first,
    and under load the feed's p99 was five times its p50."""
    from app.db.postgres import FairPool

    plain = await asyncpg.create_pool(get_settings().database_url, min_size=3, max_size=3)
    pool = FairPool(plain, 3)
    finished: list[int] = []

    async def request(number: int) -> None:
        for _ in range(4):
            async with pool.acquire() as connection:
                # A query of a steady length: one slow by chance lets others by, in any pool.
                await connection.fetchval("SELECT pg_sleep(0.005)")
        finished.append(number)

    try:
        # Each connection prepares the statement once: a first query slower
        # than the others lets others by, in any pool.
        await asyncio.gather(*(request(-1) for _ in range(3)))
        finished.clear()
        arrivals = []
        for number in range(40):
            arrivals.append(asyncio.create_task(request(number)))
            await asyncio.sleep(0)
        await asyncio.gather(*arrivals)
        passed_by = [sum(1 for later in finished[: finished.index(n)] if later > n) for n in range(40)]
        worst = max(range(40), key=passed_by.__getitem__)
        assert passed_by[worst] <= 2 * 4, f"request {worst} passed by {passed_by[worst]} that asked after it"
        # What Piccolo, transactions and the raw callers use of the pool.
        assert await pool.fetch("SELECT 2 AS n") == [(2,)]
        connection = await pool.acquire()
        await pool.release(connection)
    finally:
        await plain.close()


def _processes_answering(server: ServerProcess) -> set[int]:
    """Which child processes of the server hold the connections it accepted
    (read from /proc: the kernel's table of TCP sockets, and each process's
    open files)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == server.port and fields[3] == "01":  # established
            inodes.add(f"socket:[{fields[9]}]")
    owners = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == server.proc.pid and any(os.readlink(fd) in inodes for fd in (stat.parent / "fd").iterdir()):
                owners.add(int(stat.parent.name))
        except OSError:
            continue  # a process that ended meanwhile
    return owners


def _answer_to_a_megabyte_of_header(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: " + b"x" * 1_000_000 + b"\r\n\r\n")
            return connection.recv(4096).split(b"\r\n", 1)[0][:12].decode() or "hung up"
        except (BrokenPipeError, ConnectionResetError):
            return "hung up"


async def test_serve_with_two_workers_answers_from_two_processes():
    server = ServerProcess(args=("--workers", "2"))
    connections = []
    try:
        # Connections kept open, as browsers keep them; the kernel hands each to one worker.
        while len(connections) < 60 and len(_processes_answering(server)) < 2:
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while not answer.endswith(b"pong") and (chunk := connection.recv(4096)):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"pong")
            connections.append(connection)
        assert len(_processes_answering(server)) == 2, len(connections)
        # Each keeps the h11 parser and its 32 kB bound on a request's line and headers.
        for _ in range(4):
            assert _answer_to_a_megabyte_of_header(server.port) in ("HTTP/1.1 400", "hung up")
    finally:
        for connection in connections:
            connection.close()
        server.stop()
    assert server.proc.returncode == 0, server.output()
