"""Live pages: an open conversation or post shows new messages and replies as
they are written, over server-sent events (htmx's SSE extension reads them).

News are ids, never text: "conversation:12 345" says that message 345 is new
in conversation 12. Each open stream then reads what is new itself, through
the same access rules and templates as its page, in its reader's language.

Between processes the news go through PostgreSQL: the writer NOTIFYs inside
the transaction that inserts (nothing is announced that did not commit), and
each process holds one LISTEN connection that hands them to its own streams.
On SQLite (one process) they go to the streams once the transaction commits.

Memory is bounded: a stream holds a queue of at most QUEUE_SIZE news; a
client too slow to keep up overflows it and its stream is dropped, the
client reconnects (htmx, with backoff) and catches up from its Last-Event-ID.
A process holds at most `live_max_streams` streams; beyond, the page works as
it does without JavaScript, by reloading. A process that stops drops its
streams first, so that their pages reconnect at once, to another process.

The same LISTEN connection tells the memories of app.db.memory whose
sessions and which quartiers' feeds changed, and that they may have missed
some whenever the connection is lost or opened anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.response import Stream
from litestar.response.sse import ServerSentEventMessage
from piccolo.engine.base import Engine
from piccolo.querystring import QueryString

from app.db import memory
from app.settings import Settings
from app.web import parse_id

log = logging.getLogger("voisinage.live")

CHANNEL = "voisinage_live"
# Where the LISTEN connection checks that it hears (`hears_itself`).
ECHO_CHANNEL = "voisinage_echo"
# How the listening connections show in pg_stat_activity.
APPLICATION_NAME = "voisinage live"
QUEUE_SIZE = 16
# The option that marks a live route. It keeps the stream out of gzip:
# compressing would cost each open stream a compressor's memory (some 256 kB)
# for a few bytes saved.
STREAM = "live_stream"
STREAM_OPT = {STREAM: True}
# Sent before a stream ends for good (session over, page no longer visible):
# the page's element closes on it (hx-sse:close) instead of reconnecting.
GONE = ServerSentEventMessage(event="gone", data="")


class Subscription:
    """One open stream's news: a bounded queue of ids; `dropped` once the
    stream must end (it overflowed, or the process stops)."""

    __slots__ = ("dropped", "queue", "topic")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[int] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = False

    def offer(self, item_id: int) -> None:
        try:
            self.queue.put_nowait(item_id)
        except asyncio.QueueFull:
            self.dropped = True

    async def news(self, timeout: float) -> bool:
        """Whether news came within `timeout` seconds; all that came is taken at once."""
        try:
            async with asyncio.timeout(timeout):
                await self.queue.get()
        except TimeoutError:
            return False
        while not self.queue.empty():
            self.queue.get_nowait()
        return True


class Hub:
    """This process's open streams, by topic."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscription]] = {}
        self.streams = 0

    @contextlib.contextmanager
    def subscribe(self, topic: str):
        subscription = Subscription(topic)
        self._topics.setdefault(topic, set()).add(subscription)
        self.streams += 1
        try:
            yield subscription
        finally:
            self.streams -= 1
            subscribers = self._topics.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._topics[topic]

    def deliver(self, topic: str, item_id: int) -> None:
        for subscription in self._topics.get(topic, ()):
            subscription.offer(item_id)

    def wake_all(self) -> None:
        """Every stream looks again (news may have been missed)."""
        for subscribers in self._topics.values():
            for subscription in subscribers:
                subscription.offer(0)

    def drop_all(self) -> None:
        """Every stream ends (the process stops): their clients reconnect."""
        for subscribers in self._topics.values():
            for subscription in subscribers:
                subscription.dropped = True
                subscription.offer(0)


HUB = Hub()


@contextlib.contextmanager
def ending_streams_on_stop() -> Iterator[None]:
    """While the app runs, a stop signal (SIGTERM, SIGINT) first ends every
    open stream, then goes on to the server's own handler (uvicorn's graceful
    shutdown): open streams would otherwise hold the exit back until the
    graceful timeout, then be cut. Set from inside the app, so that it holds
    for one process and for each of `serve --workers`, whose server class is
    uvicorn's own. Only on the main thread (where signals are heard), and
    only for a signal something handles (uvicorn does): a default action
    (ending the process at once) is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def stopping(sig: int, frame: Any) -> None:
        loop.call_soon_threadsafe(HUB.drop_all)
        previous[sig](sig, frame)

    taken = [sig for sig, handler in previous.items() if callable(handler)]
    for sig in taken:
        signal.signal(sig, stopping)
    try:
        yield
    finally:
        for sig in taken:
            if signal.getsignal(sig) is stopping:
                signal.signal(sig, previous[sig])


def _postgres(db: Engine) -> bool:
    return db.engine_type == "postgres"


@contextlib.asynccontextmanager
async def announcing(db: Engine) -> AsyncIterator[Callable[[str, int], None]]:
    """A transaction (the outermost one) whose news, `announce(topic, id)`,
    reach the open streams of every process if and when it commits."""
    news: list[tuple[str, int]] = []
    async with db.transaction():
        yield lambda topic, item_id: news.append((topic, item_id))
        if _postgres(db):
            for topic, item_id in news:
                await db.run_querystring(QueryString("SELECT pg_notify({}, {})", CHANNEL, f"{topic} {item_id}"))
    if not _postgres(db):
        for topic, item_id in news:
            HUB.deliver(topic, item_id)


def _session_changed(_connection, _pid, _channel, payload: str) -> None:
    memory.SESSIONS.forget_group(parse_id(payload))


def _feed_changed(_connection, _pid, _channel, payload: str) -> None:
    memory.FEED_PAGES.forget_group(parse_id(payload))


def _heard(_connection, _pid, _channel, payload: str) -> None:
    topic, _, raw = payload.rpartition(" ")
    item_id = parse_id(raw)
    if topic and item_id is not None:
        HUB.deliver(topic, item_id)


async def listen_forever(dsn: str, *, check_every: float = 30.0) -> None:
    """This process's one LISTEN connection, reopened (with backoff) when lost."""
    delay = 1.0
    while True:
        try:
            connection = await asyncpg.connect(dsn, server_settings={"application_name": APPLICATION_NAME})
        except Exception as exc:  # noqa: BLE001 - whatever it was (server down, restarting), try again later
            log.warning("live: cannot listen (%s), again in %.0f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            continue
        delay = 1.0
        try:
            await _listen(connection, check_every)
        except Exception as exc:  # noqa: BLE001 - a lost connection must not end live pages for good
            log.warning("live: listening connection lost (%s)", type(exc).__name__)
        finally:
            memory.heard_again(hearing=False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)
        await asyncio.sleep(delay)


async def _listen(connection: asyncpg.Connection, check_every: float) -> None:
    """Hands what is heard on `connection` to this process's streams, until it is lost."""
    lost = asyncio.Event()

    def terminated(_connection) -> None:
        # Told at once, before any request that follows asks the memory.
        memory.heard_again(hearing=False)
        lost.set()

    connection.add_termination_listener(terminated)
    echoes: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(ECHO_CHANNEL, lambda _c, _pid, _channel, payload: echoes.put_nowait(payload))
    await connection.add_listener(CHANNEL, _heard)
    await connection.add_listener(memory.SESSIONS_CHANNEL, _session_changed)
    await connection.add_listener(memory.FEEDS_CHANNEL, _feed_changed)
    await hears_itself(connection, echoes)
    # What was written while nobody listened: every open stream looks again,
    # and the memories start afresh.
    memory.heard_again(hearing=True)
    HUB.wake_all()
    while not lost.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(check_every):
                await lost.wait()
        if not lost.is_set():
            # A connection dropped without a word (a network cut) only shows when used.
            await hears_itself(connection, echoes)


async def hears_itself(connection: asyncpg.Connection, echoes: asyncio.Queue[str], timeout: float = 10.0) -> None:
    """Raises TimeoutError unless a notice sent now on `connection` comes back
    to it. A connection that does not really listen must not pass for one:
    through a pooler in transaction mode (PgBouncer), LISTEN is accepted and
    nothing ever arrives, and the memories would then trust what they hold."""
    token = secrets.token_hex(8)
    async with asyncio.timeout(timeout):
        await connection.execute("SELECT pg_notify($1, $2)", ECHO_CHANNEL, token)
        while await echoes.get() != token:
            pass


def listeners(settings: Settings) -> list:
    """What app.main runs while it serves: the LISTEN connection, on PostgreSQL."""
    return [listen_forever(settings.listen_database_url or settings.database_url)] if settings.is_postgres else []


def resume_point(request: Request) -> int:
    """A stream starts after the last news its client saw: Last-Event-ID on a
    reconnection, else the last item its page showed (?after=, 0 for none)."""
    for raw in (request.headers.get("last-event-id"), request.query_params.get("after")):
        if raw == "0":
            return 0
        if (value := parse_id(raw)) is not None:
            return value
    return 0


class TooManyStreams(HTTPException):
    status_code = 503


# What a stream asks its domain: the viewer while their session lasts (None
# once it ended); and, for news, the events' HTML after an id with the id of
# the last item in it ("" when nothing new), or None once the viewer may no
# longer see the page.
Viewer = Callable[[], Awaitable[Any]]
News = Callable[[Any, int], Awaitable[tuple[str, int] | None]]


def stream(request: Request, topic: str, viewer: Viewer, news: News) -> Stream:
    """The response of a live route, once it has checked, as its page does,
    that the viewer may see `topic`'s page."""
    settings = request.app.state.settings
    if HUB.streams >= settings.live_max_streams:
        raise TooManyStreams(detail="streams")
    return Stream(
        _events(topic, resume_point(request), viewer, news, settings.live_heartbeat),
        media_type="text/event-stream",
        # X-Accel-Buffering: a buffering proxy would hold the events back.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(topic: str, after: int, viewer: Viewer, news: News, heartbeat: float) -> AsyncIterator[bytes]:
    with HUB.subscribe(topic) as subscription:
        # At once: the headers go out, and htmx knows the stream is open.
        yield ServerSentEventMessage(comment="live", data=None).encode()
        # Subscribed first, then caught up: nothing written in between is missed.
        pending = True
        while True:
            if subscription.dropped:
                return
            me = await viewer()
            if me is None:
                yield GONE.encode()
                return
            if pending:
                found = await news(me, after)
                if found is None:
                    yield GONE.encode()
                    return
                html, after = found
                if html:
                    yield ServerSentEventMessage(data=html, id=after).encode()
            else:
                yield ServerSentEventMessage(comment="", data=None).encode()
            pending = await subscription.news(heartbeat)
