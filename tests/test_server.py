"""A real server process under concurrent load, and its clean shutdown."""

from __future__ import annotations

import asyncio
import re
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
        data = {"_csrf_token": token, "first_name": "Voisin", "last_name": f"N{n}", "email": email,
                "password": "une phrase de passe"}
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
