"""The request path under wrk: real server processes, measured side by side.

    python -m bench.http                          # SQLite, one process
    python -m bench.http --postgresql URL         # PostgreSQL (an empty database)
    python -m bench.http --postgresql URL --caddy 2   # also through Caddy, two processes

Caddy runs the deployment guide's own Caddyfile (docs/deploy.md), moved onto
loopback as the tests move it: what is measured is what operators run.

Each figure is a ratio taken in this one run (the machine is shared and
noisy; absolute numbers mean little): requests per second of a route as a
fraction of the anonymous /ping of the same server at the same concurrency,
each route run right after a /ping, in rounds whose median is printed; then
the feed's latency percentiles at 50 connections. The data: the demo
quartiers, and enough posts in Dijon for a full first page of the feed.

Goals (issue 14): authenticated /ping >= 85 % of anonymous; the feed >= 40 %;
p99 <= 100 ms at 50 connections for the feed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import httpx

from tests import deploy_guide as guide

ROOT = Path(__file__).resolve().parent.parent
DEMO_EMAIL = "claire@demo.voisinage.fr"
DEMO_PASSWORD = "voisins-demo-2026"

SEED = """
import asyncio
from app.migrating import migrate
from app.demo import load_demo
from app.accounts.tables import User
from app.posts import queries


async def seed():
    from app.piccolo_conf import DB
    await migrate(quiet=True)
    await DB.start_connection_pool()
    await load_demo()
    claire = await User.objects().where(User.email == "DEMO_EMAIL").first()
    for n in range(40):
        await queries.create_post(author=claire, kind="give", title=f"Objet à donner n°{n}",
                                  body="En bon état, à venir chercher le soir. " * 4, details={}, photos=[])
    await DB.close_connection_pool()


asyncio.run(seed())
""".replace("DEMO_EMAIL", DEMO_EMAIL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "VOISINAGE_DATA_DIR": str(data_dir),
        "VOISINAGE_BACKGROUND_WORK": "0",
        # The name the guide's Caddy passes on (and asks /healthz with).
        "VOISINAGE_ALLOWED_HOSTS": guide.SITE,
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class Server:
    def __init__(self, data_dir: Path, database_url: str | None, *, demo: bool = False) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            + (["--demo"] if demo else []),
            cwd=ROOT,
            env=_env(data_dir, database_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self.url)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)


class Caddy:
    """Debian's caddy on loopback with the deployment guide's Caddyfile,
    balancing over the given servers: what is measured is what operators run."""

    def __init__(self, upstreams: list[str], folder: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The guide's site answers to its own name only.
        self.host = f"{guide.SITE}:{self.port}"
        config = folder / "Caddyfile"
        config.write_text(guide.caddyfile_on_loopback(self.port, [u.removeprefix("http://") for u in upstreams]))
        self.proc = subprocess.Popen(
            ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)},
        )
        _wait_for(self.url, host=self.host)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _wait_for(url: str, host: str | None = None) -> None:
    headers = {"Host": host} if host else {}
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", headers=headers, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def login(url: str) -> tuple[str, int]:
    """The session cookie of a demo neighbour, and a post of their quartier."""
    with httpx.Client(base_url=url) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        response = client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "_csrf_token": token})
        assert response.status_code == 303, response.text
        feed = client.get("/feed")
        assert feed.status_code == 200 and feed.text.count("<article>") >= 20, "not a full first page"
        post_id = int(re.search(r'href="/posts/(\d+)"', feed.text).group(1))
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items()), post_id


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    cookie: str | None = None,
    pids: tuple[int, ...] = (),
    host: str | None = None,
) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) of one wrk run, and
    the servers' CPU milliseconds per request: on a shared, busy machine the
    throughput moves with the neighbours' load, the CPU a request costs much less."""
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    if host:
        command[1:1] = ["-H", f"Host: {host}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result["cpu_ms"] = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1000 / max(1, requests)
    for pct in ("50", "99"):
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        result[f"p{pct}"] = float(value) * _UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = int(errors.group(1)) if errors else 0
    return result


def measure(
    label: str,
    base: str,
    cookie: str,
    post_id: int,
    seconds: float,
    pids: tuple[int, ...] = (),
    rounds: int = 5,
    host: str | None = None,
) -> None:
    # Warm the template and query caches the way a running server has them.
    wrk(base + "/feed", seconds=1, connections=4, cookie=cookie, host=host)
    routes = {
        "signed-in /ping": (base + "/ping", cookie),
        "feed (20 posts)": (base + "/feed", cookie),
        "post page": (base + f"/posts/{post_id}", cookie),
    }
    # Rounds of short runs, each route right after the anonymous /ping it is
    # compared with: a neighbour's load that comes and goes on a shared
    # machine then weighs on both sides of most ratios, and the median of
    # the rounds leaves out the one it hit.
    window = max(1.0, seconds / rounds)
    plains: list[dict] = []
    runs: dict[str, list[dict]] = {name: [] for name in routes}
    for _ in range(rounds):
        for name, (url, with_cookie) in routes.items():
            plains.append(wrk(base + "/ping", seconds=window, connections=10, pids=pids, host=host))
            runs[name].append(wrk(url, seconds=window, connections=10, cookie=with_cookie, pids=pids, host=host))
    loaded = wrk(base + "/feed", seconds=seconds, connections=50, cookie=cookie, host=host)
    plain_rps = median(run["rps"] for run in plains)
    plain_cpu = median(run["cpu_ms"] for run in plains)
    print(f"\n{label} (median of {rounds} rounds of {window:.0f} s)")
    print(f"  {'':<26} {'throughput':>18} {'':>13}   {'server CPU per request':>24}")
    print(f"  anonymous /ping            {plain_rps:8.0f} req/s   (the reference)   {plain_cpu:6.2f} ms")
    for name, route_runs in runs.items():
        paired = list(zip(plains[list(routes).index(name) :: len(routes)], route_runs, strict=True))
        share = median(run["rps"] / plain["rps"] for plain, run in paired)
        cpu_share = median(plain["cpu_ms"] / run["cpu_ms"] for plain, run in paired)
        cpu = median(run["cpu_ms"] for run in route_runs)
        rps = median(run["rps"] for run in route_runs)
        print(
            f"  {name:<26} {rps:8.0f} req/s   {share:6.1%} of /ping   {cpu:6.2f} ms = {cpu_share:6.1%} of /ping's rate"
        )
    print(f"  feed at 50 connections     p50 {loaded['p50']:.1f} ms, p99 {loaded['p99']:.1f} ms")
    bad = sum(r["errors"] for r in (*plains, *(run for rs in runs.values() for run in rs), loaded))
    if bad:
        print(f"  {bad} answers were not 2xx/3xx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgresql", metavar="URL", help="an empty PostgreSQL database (else SQLite)")
    parser.add_argument("--caddy", type=int, default=0, metavar="N", help="also through Caddy over N processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="per route, spread over the rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="voisinage-bench-") as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=_env(folder / "data0", args.postgresql), check=True)
        servers = [Server(folder / "data0", args.postgresql)]
        try:
            cookie, post_id = login(servers[0].url)
            engine = "PostgreSQL" if args.postgresql else "SQLite"
            measure(
                f"{engine}, one process",
                servers[0].url,
                cookie,
                post_id,
                args.seconds,
                pids=(servers[0].proc.pid,),
                rounds=args.rounds,
            )
            if args.caddy:
                if not args.postgresql:
                    sys.exit("--caddy needs --postgresql (processes on several hosts share one database)")
                servers += [Server(folder / f"data{n}", args.postgresql) for n in range(1, args.caddy)]
                caddy = Caddy([s.url for s in servers], folder)
                try:
                    label = f"{engine}, Caddy over {args.caddy} processes"
                    pids = tuple(s.proc.pid for s in servers)
                    measure(
                        label, caddy.url, cookie, post_id, args.seconds, pids=pids, rounds=args.rounds, host=caddy.host
                    )
                finally:
                    caddy.stop()
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
