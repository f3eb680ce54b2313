"""A real server process under concurrent load, facing hostile bytes on the wire, and its clean shutdown."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid

import httpx
import pytest

from app.accounts.tables import User
from tests.server import ServerProcess

pytestmark = pytest.mark.server


async def _signup(base: str, n: int, email: str) -> list[int]:
    # Each simulated person comes from their own address, as behind a proxy.
    headers = {"X-Forwarded-For": f"10.0.{n // 250}.{n % 250 + 1}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        await c.get("/signup")
        token = c.cookies["csrftoken"]
        data = {
            "_csrf_token": token,
            "first_name": "Voisin",
            "last_name": f"N{n}",
            "email": email,
            "password": "une phrase de passe",
        }
        signup = await c.post("/signup", data=data)
        out = await c.post("/logout", data={"_csrf_token": token})
        login = await c.post("/login", data={"_csrf_token": token, "email": email, "password": "une phrase de passe"})
        page = await c.get("/signup/address")
        return [signup.status_code, out.status_code, login.status_code, page.status_code]


async def test_fifty_concurrent_signups_and_logins_on_a_real_server():
    server = ServerProcess()
    try:
        emails = [f"charge.{uuid.uuid4().hex[:10]}@exemple.fr" for _ in range(50)]
        results = await asyncio.gather(*(_signup(server.url, n, e) for n, e in enumerate(emails)))
        # Every signup went through (303), logout and login too, the address page served.
        assert all(r == [303, 303, 303, 200] for r in results), results
        assert await User.count().where(User.email.is_in(emails)) == 50
        log = server.output()
        assert "database is locked" not in log and not re.search(r"\b5\d\d\b.*HTTP", log)
    finally:
        elapsed = server.stop()
    assert elapsed < 10
    assert server.proc.returncode == 0, server.output()


async def test_server_exits_quickly_on_sigterm_with_an_idle_keepalive_client():
    server = ServerProcess()
    client = httpx.AsyncClient(base_url=server.url)
    try:
        assert (await client.get("/")).status_code == 200
        elapsed = await asyncio.to_thread(server.stop)
        assert elapsed < 10
    finally:
        await client.aclose()


def _wire(port: int, request: bytes) -> str:
    """Writes raw bytes no HTTP library would send; the answer's status line,
    or "hung up" when the server closed the connection on us."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(request)
            answer = s.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            return "hung up"
    return answer.split(b"\r\n", 1)[0].decode("latin-1") or "hung up"


HOST = b"Host: 127.0.0.1\r\nConnection: close\r\n"
# What is written, and the answers that may come back: refused, or (when it
# all arrives in one read and is no worse than unusual) served.
ON_THE_WIRE = {
    "a NUL byte in the path": (b"GET /posts/\x00 HTTP/1.1\r\n" + HOST + b"\r\n", "400"),
    "an escaped NUL byte in a name": (b"GET /photos/a%00b/thumb HTTP/1.1\r\n" + HOST + b"\r\n", "404"),
    "a NUL byte in a header": (b"GET / HTTP/1.1\r\n" + HOST + b"X-Note: a\x00b\r\n\r\n", "400"),
    "a NUL byte in a cookie": (b"GET /feed HTTP/1.1\r\n" + HOST + b"Cookie: csrftoken=\x00\xe9\r\n\r\n", "400"),
    "a number no row can have": (b"GET /posts/99999999999999999999 HTTP/1.1\r\n" + HOST + b"\r\n", "404"),
    "a header of a megabyte": (
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Note: " + b"x" * 1_000_000 + b"\r\n\r\n",
        "400|hung up",
    ),
    "a URL of a megabyte": (b"GET /feed?q=" + b"x" * 1_000_000 + b" HTTP/1.1\r\n" + HOST + b"\r\n", "400|303|hung up"),
    "ten thousand headers": (
        b"GET / HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: y\r\n" % i for i in range(10_000)) + b"\r\n",
        "400|200",
    ),
    "a length that is no number": (b"POST /login HTTP/1.1\r\n" + HOST + b"Content-Length: abc\r\n\r\n", "400"),
}


async def test_hostile_bytes_on_the_wire_are_refused_and_the_server_carries_on():
    server = ServerProcess()
    try:
        for what, (raw, expected) in ON_THE_WIRE.items():
            answer = await asyncio.to_thread(_wire, server.port, raw)
            assert re.fullmatch(rf"(HTTP/1.1 ({expected}) .*|{expected})", answer), (what, answer)

        # A header that never ends is cut off (the kernel's buffers take a few
        # megabytes more) rather than filling the server's memory.
        def endless_header() -> int:
            sent = 0
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"X-Note: ")
                try:
                    while sent < 32_000_000:
                        s.sendall(b"x" * 65536)
                        sent += 65536
                except (BrokenPipeError, ConnectionResetError):
                    pass
            return sent

        assert await asyncio.to_thread(endless_header) < 32_000_000

        # A phone losing signal in the middle of a form: nobody left to answer, nothing logged as an error.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(
                b"POST /login HTTP/1.1\r\n" + HOST + b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nemail=claire"
            )
        await asyncio.sleep(0.5)

        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        log = server.output()
        assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.output()
