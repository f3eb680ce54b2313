"""`voisinage serve` and `voisinage worker`: the processes that run Voisinage.
One process serving requests and running the background work, or N worker
processes serving and their parent running the background work once."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator

from app.migrating import migrate, with_db


async def _load_keys() -> None:
    """The instance's keys, read from the database (app.db.keys) and handed
    to the processes `--workers` spawns through their environment, where
    the environment's keys win: they start without a database round of
    their own and all sign with the same keys."""
    from app.db import keys

    settings = await keys.load()
    os.environ["VOISINAGE_SECRET_KEY"] = settings.secret_key
    os.environ["VOISINAGE_VAPID_PRIVATE_KEY"] = settings.vapid_private_key


async def _prepare(demo: bool) -> None:
    from app.piccolo_conf import DB

    # Migrations and the demo data may run long: no statement timeout (app.db.postgres).
    await DB.start_connection_pool(bounded=False)
    try:
        await migrate(quiet=True)
        await _load_keys()
        if demo:
            from app.demo import load_demo

            if await load_demo():
                print("Données de démonstration chargées (voir le README pour les comptes).")
        await _warn_without_addresses()
    finally:
        # Also on failure: an open SQLite connection's thread would keep the process from exiting.
        await DB.close_connection_pool()


def serve(host: str, port: int, demo: bool, workers: int) -> None:
    """One process serving requests and running the background work, or
    `workers` processes serving requests and this one (their parent, which
    serves none) running the background work: once per host, not once per
    worker."""
    import uvicorn

    from app.logs import configure
    from app.settings import get_settings

    configure()
    # `kill -USR1` writes every thread's stack to the log: what a stuck process waits for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    asyncio.run(_prepare(demo))
    options = {
        "host": host,
        "port": port,
        "proxy_headers": False,  # client addresses come from VOISINAGE_TRUSTED_PROXIES, see app/web.py
        # h11 refuses (400) a request line and headers beyond this size; the
        # faster httptools parser buffers them without limit: one client
        # sending an endless header would fill the server's memory.
        "http": "h11",
        # asyncio's own loop, not uvloop: on uvloop the feed's p99 at 50
        # connections went from some 40 ms to 400 (SQLite) and through Caddy
        # from 48 to 72 ms (bench/http.py), for no gain in throughput.
        "loop": "asyncio",
        "h11_max_incomplete_event_size": 32 * 1024,
        "server_header": False,
        "timeout_graceful_shutdown": 5,
        # uvicorn's lines go to the JSON log of app.logs; its access log would
        # repeat ours with the raw path and query string (VOISINAGE_ACCESS_LOG).
        "log_config": None,
        "log_level": "info",
        "access_log": False,
    }
    print(f"Voisinage : http://{host}:{port}" + (f" ({workers} processus)" if workers > 1 else ""), flush=True)
    if workers == 1:
        from app.main import create_app

        # uvicorn re-raises the signal it stopped on once it has shut down cleanly;
        # this handler turns that into exit status 0 for service managers.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        uvicorn.run(create_app(), **options)
        return
    # The workers are started afresh (spawned) and build the app from its name.
    background = _in_a_thread(lambda stop: with_db(worker(stop=stop), bounded=True))
    with background if get_settings().background_work else contextlib.nullcontext():
        uvicorn.run("app.main:create_serving_app", factory=True, workers=workers, **options)


@contextlib.contextmanager
def _in_a_thread(work: Callable[[asyncio.Event], Coroutine]) -> Iterator[None]:
    """Runs `work(stop)` on an event loop of its own in another thread while
    the block runs (the main thread belongs to uvicorn's supervisor and its
    signal handlers), then sets `stop` and waits for it to end."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(work(stop),), name="voisinage-background")
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


async def worker(
    once: bool = False,
    batch: int = 50,
    lease: float = 60.0,
    backoff: float = 30.0,
    poll: float = 1.0,
    stop: asyncio.Event | None = None,
    metrics: str | None = None,
) -> None:
    """Push deliveries and reminders, apart from the web server (run the server
    with VOISINAGE_BACKGROUND_WORK=0 then). Several may run side by side.
    Until SIGTERM or SIGINT, or until `stop` is set when the caller owns the
    signals (`serve --workers`)."""
    from app.background import running
    from app.db import keys
    from app.logs import configure
    from app.main import background_loops
    from app.notify import mail_outbox, outbox
    from app.notify.push import Sender
    from app.settings import get_settings

    configure()
    if metrics:
        from prometheus_client import start_http_server

        # The push failures are counted where pushes are sent: here.
        host, _, port = metrics.rpartition(":")
        start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1")
    await migrate(quiet=True)
    await keys.load()
    if once:
        sender = Sender(get_settings())
        try:
            print(
                f"{await outbox.run_until_idle(sender, batch_size=batch, lease=lease, backoff_base=backoff)} notifications envoyées."
            )
            mails = await mail_outbox.run_until_idle(batch_size=batch, lease=lease, backoff_base=backoff)
            print(f"{mails} e-mails envoyés.")
        finally:
            await sender.aclose()
        return
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with running(
        background_loops(get_settings(), poll=poll, batch_size=batch, lease=lease, backoff_base=backoff)
    ):
        print("Voisinage : worker démarré.", flush=True)
        await stop.wait()


async def _warn_without_addresses() -> None:
    from app.addresses.tables import Address
    from app.settings import get_settings

    if get_settings().geocoder != "ban" and not await Address.exists():
        print(
            "Aucune adresse importée : toute adresse sera refusée. Importez la Base Adresse Nationale de vos "
            "départements avec `voisinage import-addresses adresses-DD.csv.gz` (ou lancez avec --demo).",
            file=sys.stderr,
        )
