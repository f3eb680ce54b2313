"""Several Voisinage processes on one database, as behind a load balancer:
rate limits they all count together, migrations that ten processes starting
at once run only once, and one server with several worker processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app import ratelimits
from app.ratelimits import RateLimit
from tests.factories import post_form
from tests.server import ServerProcess

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
