"""Push helpers: a device subscribing as app.js does, and a worker round."""

from __future__ import annotations

import asyncio

from app.notify import outbox
from app.notify.push import Sender
from app.notify.tables import PushDelivery
from app.settings import get_settings
from tests.factories import ensure_csrf


async def subscribe(client, subscription: dict):
    """POST /push/subscriptions with the JSON and CSRF header static/app.js sends."""
    token = await ensure_csrf(client)
    return await client.post("/push/subscriptions", json=subscription, headers={"x-csrftoken": token})


async def worker_round(*, backoff_base: float = 0.01, lease: float = 60.0) -> int:
    sender = Sender(get_settings())
    try:
        return await outbox.run_until_idle(sender, backoff_base=backoff_base, lease=lease)
    finally:
        await sender.aclose()


async def work_until_settled(timeout: float = 20.0, **kwargs) -> None:
    """Runs worker rounds until no delivery is pending any more."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await PushDelivery.count().where(PushDelivery.status == "pending") and loop.time() < deadline:
        await worker_round(**kwargs)
        await asyncio.sleep(0.02)
