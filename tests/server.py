"""A real Voisinage server process on loopback, sharing the test database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import httpx

from app.settings import ROOT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerProcess:
    """`voisinage serve` on a free port (or the `port` of a process it
    restarts), on 127.0.0.1 or another loopback `host` standing in for a
    host of its own; `wait=False` returns as soon as it is launched (several
    started together), `ready()` then waits for it."""

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        *,
        args: tuple[str, ...] = (),
        wait: bool = True,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.host = host
        self.args = args
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        env = {
            **os.environ,
            "VOISINAGE_ACCESS_LOG": "0",
            "VOISINAGE_BASE_URL": self.url,
            "VOISINAGE_TRUSTED_PROXIES": "127.0.0.1",
            # Its push worker would race the push tests' own workers for the shared outbox.
            "VOISINAGE_BACKGROUND_WORK": "0",
            **(extra_env or {}),
        }
        # Asked for by the name of its base URL, as requests through a proxy are.
        self.host_header = urlsplit(env["VOISINAGE_BASE_URL"]).netloc
        # Each process its own log, a restarted one too.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open while the server runs
            "w+", prefix=f"server-{self.port}-", suffix=".log", dir=os.environ["VOISINAGE_DATA_DIR"], delete=False
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", host, "--port", str(self.port), *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.ready()

    def ready(self, timeout: float = 90) -> None:
        # Generous: a CI machine running browsers beside it can take long to start a process.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                if httpx.get(self.url + "/healthz", headers={"Host": self.host_header}, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def log_lines(self) -> list[dict]:
        """Its JSON log lines (app.logs), in order."""
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def stop(self, timeout: float | None = None) -> float:
        """SIGTERM, as a service manager would; returns how long the exit took.
        One process has 10 s; `--workers` more (each worker's graceful
        shutdown, then the parent's: a loaded CI machine took longer than 10 s
        for the two together). Tests that promise an exit time assert it."""
        if timeout is None:
            timeout = 30 if "--workers" in self.args else 10
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Its threads' stacks (faulthandler, see app.serving) say what it waited for.
                self.proc.send_signal(signal.SIGUSR1)
                time.sleep(1)
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"the server did not stop within {timeout} s:\n{self.output()[-12000:]}") from None
        return time.monotonic() - start


async def signed_in_on(base: str, user) -> httpx.AsyncClient:
    """A browser-like client of a server process, logged in as this factory-made neighbour."""
    from tests.factories import PASSWORD

    client = httpx.AsyncClient(base_url=base, timeout=30)
    await client.get("/login")
    answer = await client.post(
        "/login", data={"_csrf_token": client.cookies["csrftoken"], "email": user.email, "password": PASSWORD}
    )
    assert answer.status_code == 303
    return client
