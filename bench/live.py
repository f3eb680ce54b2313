"""How many live streams one server process holds, and what they cost.

    python -m bench.live                          # SQLite, 2,000 streams
    python -m bench.live --streams 5000
    DATABASE_URL=postgresql://… python -m bench.live   # a database it may fill with the demo

Starts one real server process with the demo data, opens N event streams on
one conversation (as its reader's browser tabs would), and prints:
- the server's memory before and after, per stream;
- the CPU the idle streams cost over one heartbeat (each beat checks the
  stream's session: one indexed query);
- how long a message takes to reach its conversation's open page while the
  N other streams stay open (the ordinary case: a conversation has two
  people);
- how long one message takes to reach all N streams when they all watch the
  same conversation (the worst case: N tabs on one thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "voisins-demo-2026"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server(port: int, streams: int, heartbeat: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "VOISINAGE_DATA_DIR": os.environ.get("VOISINAGE_DATA_DIR") or tempfile.mkdtemp(prefix="voisinage-live-"),
        "VOISINAGE_ACCESS_LOG": "0",
        "VOISINAGE_BACKGROUND_WORK": "0",
        "VOISINAGE_LIVE_MAX_STREAMS": str(streams + 10),
        "VOISINAGE_LIVE_HEARTBEAT": str(heartbeat),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _log_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    client.get("/login")
    answer = client.post(
        "/login", data={"_csrf_token": client.cookies["csrftoken"], "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.status_code
    return client


def _user_id(client: httpx.Client, name: str) -> int:
    return int(re.search(rf'href="/users/(\d+)">{name}', client.get("/neighbours").text).group(1))


async def _open(port: int, path: str, cookie: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nHX-Request: true\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n", 1)[0], head[:200]
    await reader.readuntil(b": live")
    return reader, writer


async def _until(reader: asyncio.StreamReader, text: bytes) -> float:
    await reader.readuntil(text)
    return time.perf_counter()


async def measure(port: int, pid: int, streams: int, heartbeat: float) -> None:
    claire = _log_in(f"http://127.0.0.1:{port}", "claire@demo.voisinage.fr")
    paul = _log_in(f"http://127.0.0.1:{port}", "paul@demo.voisinage.fr")
    page = claire.get("/messages/1").text
    path = re.search(r'hx-sse:connect="([^"]+)"', page).group(1).replace("&amp;", "&")
    cookie = "; ".join(f"{k}={v}" for k, v in claire.cookies.items())
    await asyncio.sleep(1)
    before = _rss_kb(pid)

    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    start = time.perf_counter()
    for first in range(0, streams, 100):
        opened += await asyncio.gather(*(_open(port, path, cookie) for _ in range(first, min(first + 100, streams))))
    took = time.perf_counter() - start
    await asyncio.sleep(2)
    after = _rss_kb(pid)
    print(f"{streams} streams opened in {took:.1f} s")
    print(
        f"server memory: {before / 1024:.0f} MB before, {after / 1024:.0f} MB after, "
        f"{(after - before) / streams:.1f} kB per stream"
    )

    cpu = _cpu_seconds(pid)
    await asyncio.sleep(heartbeat * 3)
    idle = (_cpu_seconds(pid) - cpu) / (heartbeat * 3)
    print(f"idle streams (heartbeat every {heartbeat:.0f} s, each checking its session): {idle:.1%} of one core")

    # The ordinary case: Yasmine's page of her conversation with Paul, among the N others.
    yasmine = _log_in(f"http://127.0.0.1:{port}", "yasmine@demo.voisinage.fr")
    token = paul.cookies["csrftoken"]
    first = paul.post("/messages", data={"_csrf_token": token, "to": str(_user_id(paul, "Yasmine")), "body": "Bonjour"})
    other = first.headers["location"]
    own_cookie = "; ".join(f"{k}={v}" for k, v in yasmine.cookies.items())
    times = []
    for n in range(10):
        reader, writer = await _open(port, f"{other}/stream?after=0", own_cookie)
        text = f"Ordinaire {n} {time.time()}".encode()
        waiting = asyncio.create_task(_until(reader, text))
        sent = time.perf_counter()
        await asyncio.to_thread(paul.post, other, data={"_csrf_token": token, "body": text.decode()})
        times.append(await waiting - sent)
        writer.close()
    times.sort()
    print(f"a message to its open conversation, {streams} other streams open: median {times[5] * 1000:.0f} ms")

    text = f"Mesure {time.time()}".encode()
    waiting = [asyncio.create_task(_until(reader, text)) for reader, _writer in opened]
    await asyncio.sleep(0.2)
    sent = time.perf_counter()
    answer = await asyncio.to_thread(paul.post, "/messages/1", data={"_csrf_token": token, "body": text.decode()})
    assert answer.status_code == 303, answer.status_code
    arrived = sorted(t - sent for t in await asyncio.gather(*waiting))
    print(
        f"one message to all {streams} streams on one conversation: median {arrived[len(arrived) // 2] * 1000:.0f} ms, "
        f"slowest {arrived[-1] * 1000:.0f} ms"
    )
    for _reader, writer in opened:
        writer.close()
    for _reader, writer in opened:
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--heartbeat", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=18_990)
    args = parser.parse_args()
    server = _server(args.port, args.streams, args.heartbeat)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{args.port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        asyncio.run(measure(args.port, server.pid, args.streams, args.heartbeat))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


if __name__ == "__main__":
    main()
