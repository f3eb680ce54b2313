"""A real Voisinage server process on loopback, sharing the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from app.settings import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`voisinage serve` on a free port; `wait=False` returns as soon as it
    is launched (several started together), `ready()` then waits for it."""

    def __init__(
        self, extra_env: dict[str, str] | None = None, *, args: tuple[str, ...] = (), wait: bool = True
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "VOISINAGE_ACCESS_LOG": "0",
            "VOISINAGE_BASE_URL": self.url,
            "VOISINAGE_TRUSTED_PROXIES": "127.0.0.1",
            # Its push worker would race the push tests' own workers for the shared outbox.
            "VOISINAGE_BACKGROUND_WORK": "0",
            **(extra_env or {}),
        }
        self.log = open(os.path.join(os.environ["VOISINAGE_DATA_DIR"], f"server-{self.port}.log"), "w+")  # noqa: SIM115 - open while the server runs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
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
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout: float = 10) -> float:
        """SIGTERM, as a service manager would; returns how long the exit took."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
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
