"""Test set-up: a throwaway data dir, the database chosen by VOISINAGE_TEST_DB
(sqlite by default, postgresql with VOISINAGE_TEST_DATABASE_URL), migrations
run once, a fresh app and fresh rate limits per test (every test's clients
come from the same address: the counts of one must not refuse the next)."""

from __future__ import annotations

import os
import tempfile

_DATA = tempfile.mkdtemp(prefix="voisinage-test-")
os.environ["VOISINAGE_DATA_DIR"] = _DATA
os.environ["PICCOLO_CONF"] = "app.piccolo_conf"
os.environ.setdefault("VOISINAGE_ALLOWED_HOSTS", "testserver.local")
os.environ.pop("VOISINAGE_SMTP_URL", None)
# The push receiver of tests/push_receiver.py listens on 127.0.0.1; the SSRF
# tests build settings without this to see loopback refused.
os.environ["VOISINAGE_PUSH_ALLOW_LOOPBACK"] = "1"
if os.environ.get("VOISINAGE_TEST_DB", "sqlite") == "postgresql":
    os.environ["DATABASE_URL"] = os.environ["VOISINAGE_TEST_DATABASE_URL"]
else:
    os.environ.pop("DATABASE_URL", None)

import httpx  # noqa: E402
import pytest  # noqa: E402

from app.settings import get_settings  # noqa: E402
from tests import factories  # noqa: E402

BASE = "http://testserver.local"


@pytest.fixture(scope="session", autouse=True)
async def database():
    from app.db import keys
    from app.migrating import migrate
    from app.piccolo_conf import DB

    if get_settings().is_postgres:
        # A clean schema per run: migrations are tested from zero every time.
        await DB._run_in_new_connection("DROP SCHEMA public CASCADE")
        await DB._run_in_new_connection("CREATE SCHEMA public")
    await DB.start_connection_pool()
    await migrate(quiet=True)
    await keys.load()
    await factories.load_demo_neighbourhoods()
    await factories.load_demo_addresses()
    yield DB
    await DB.close_connection_pool()


@pytest.fixture(autouse=True)
async def fresh_rate_limits(database):
    from app.ratelimits import RateLimit

    await RateLimit.delete(force=True)


@pytest.fixture
def app():
    from app.main import create_app

    return create_app(own_database=False)


def _browser_like(app) -> httpx.AsyncClient:
    # httpx's ASGI transport runs the app on the test's own event loop, where
    # the connection pool lives (Litestar's AsyncTestClient runs it in another
    # thread, which asyncpg refuses). Tests look at each 303 themselves.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE, follow_redirects=False)


@pytest.fixture
async def client(app):
    async with _browser_like(app) as c:
        yield c


@pytest.fixture
def make_client(app):
    """More than one person in the same story: each gets their own cookie jar."""
    clients = []

    async def _make():
        c = _browser_like(app)
        await c.__aenter__()
        clients.append(c)
        return c

    yield _make
    # Closing is left to garbage collection of the portal-less async client;
    # the app lifespan belongs to the `client` fixture.
