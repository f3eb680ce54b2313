"""The push worker's throughput against a bare encrypt-and-POST loop, same run.

    python -m bench.push                # 2,000 messages
    python -m bench.push --messages 500

A local push service (uvicorn, in its own process, answering 201) receives
both. The bare loop encrypts with `webpush` and POSTs with httpx, 50 at a
time, nothing else. The worker does what production does: claims batches of
50 from the outbox table (SQLite here), sends them, records each outcome.
Prints both rates and the worker's as a fraction of the bare loop's.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sink(port: int) -> None:
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_keys() -> tuple[str, str]:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return enc(point), enc(os.urandom(16))


async def main(messages: int) -> None:
    from app.db import keys
    from app.migrating import migrate
    from app.notify import outbox
    from app.notify.push import Sender, payload
    from app.notify.tables import PushDelivery, PushSubscription
    from app.piccolo_conf import DB
    from tests.factories import make_user

    port = _free_port()
    sink = multiprocessing.Process(target=_sink, args=(port,), daemon=True)
    sink.start()
    endpoint = f"http://127.0.0.1:{port}/push/bench"
    await DB.start_connection_pool()
    await migrate(quiet=True)
    settings = await keys.load()
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.post(endpoint, content=b"")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        p256dh, auth = _browser_keys()
        body = payload(
            "Nouvelle réponse à votre annonce", "Paul V. a répondu à « Tondeuse à prêter »", "/posts/123#replies", "t"
        )

        # The bare loop: encrypt and POST, 50 at a time, no database.
        sender = Sender(settings)
        start = time.perf_counter()
        for offset in range(0, messages, 50):
            await asyncio.gather(
                *(
                    sender.send(endpoint, p256dh, auth, body, topic="t", urgency="normal")
                    for _ in range(min(50, messages - offset))
                )
            )
        bare = messages / (time.perf_counter() - start)
        await sender.aclose()

        # The worker, from the outbox table.
        user = await make_user(first_name="Banc", last_name="Essai")
        sub = (
            await PushSubscription.insert(PushSubscription(user=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth))
        )[0]
        await PushDelivery.insert(
            *[PushDelivery(subscription=sub["id"], payload=body.decode(), topic="t") for _ in range(messages)]
        )
        sender = Sender(settings)
        start = time.perf_counter()
        sent = await outbox.run_until_idle(sender, batch_size=50)
        worker = sent / (time.perf_counter() - start)
        await sender.aclose()
        assert sent == messages, sent
    finally:
        await DB.close_connection_pool()
        sink.terminate()
    print(f"messages: {messages}")
    print(f"bare encrypt-and-POST loop: {bare:,.0f} msg/s")
    print(f"outbox worker:              {worker:,.0f} msg/s")
    print(f"worker / bare: {worker / bare:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="voisinage-bench-push-")
    os.environ.update(
        {"VOISINAGE_DATA_DIR": data, "VOISINAGE_PUSH_ALLOW_LOOPBACK": "1", "PICCOLO_CONF": "app.piccolo_conf"}
    )
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    asyncio.run(main(args.messages))
