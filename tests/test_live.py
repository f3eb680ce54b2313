"""Live pages: an open conversation or post receives what is written, through
any app process, and only what its reader may see (app.live).

The streams are read here as htmx reads them, from real server processes:
two on PostgreSQL (the news cross from one to the other by NOTIFY), one on
SQLite. Their heartbeat is one second, so that a session's end shows quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from urllib.parse import quote, urlencode

import asyncpg
import pytest

from app import live
from app.accounts.tables import Block
from app.messages.queries import send
from app.settings import get_settings
from tests.factories import post_form
from tests.factories_posts import make_post, neighbours
from tests.server import ServerProcess, signed_in_on

POSTGRES = get_settings().is_postgres


@pytest.fixture(scope="module")
def processes():
    """Process A, where the reader's page is open, and process B, where the other neighbour writes."""
    env = {"VOISINAGE_LIVE_HEARTBEAT": "1"}
    first = ServerProcess(env)
    second = ServerProcess(env) if POSTGRES else first
    yield first, second
    for process in {first, second}:
        process.stop()


class Events:
    """A live stream as htmx's SSE extension reads it."""

    def __init__(self, client, url: str, headers: dict | None = None) -> None:
        self.client, self.url, self.headers = client, url, {"HX-Request": "true", **(headers or {})}

    async def __aenter__(self):
        self._opened = self.client.stream("GET", self.url, headers=self.headers)
        self.response = await self._opened.__aenter__()
        self._lines = self.response.aiter_lines()
        return self

    async def __aexit__(self, *exc):
        await self._opened.__aexit__(*exc)

    async def next(self, timeout: float = 5) -> dict:
        """The next event or comment: {"comment"} or {"id", "event", "data"}; {"end": True} when the server ended it."""
        event: dict = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if not line:
                    if event:
                        return event
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "data":
                    event["data"] = event["data"] + "\n" + value if "data" in event else value
                else:
                    event[field or "comment"] = value
        return {"end": True}

    async def news(self, timeout: float = 5) -> dict:
        """The next event, heartbeats skipped."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.next(max(deadline - time.monotonic(), 0.01))
            if "comment" not in event:
                return event


@pytest.mark.server
async def test_an_outsider_gets_404_for_the_stream_of_a_conversation_or_post_they_cannot_see(processes):
    here, _there = processes
    _hood, (claire, paul, yasmine) = await neighbours(3)
    conversation_id = await send(claire.id, paul.id, "Bonjour Paul")
    _elsewhere, (hugo,) = await neighbours(1)
    post_id = await make_post(hugo, title="Annonce d'un autre quartier")
    outsider = await signed_in_on(here.url, yasmine)
    member = await signed_in_on(here.url, paul)
    try:
        # Refused as the pages are: nothing tells that they exist.
        for url in (f"/messages/{conversation_id}", f"/posts/{post_id}"):
            assert (await outsider.get(url)).status_code == 404
            assert (await outsider.get(f"{url}/stream?after=0", headers={"HX-Request": "true"})).status_code == 404
        # While one of the two people gets the stream.
        async with Events(member, f"/messages/{conversation_id}/stream?after=0") as events:
            assert events.response.status_code == 200
            assert "Bonjour Paul" in (await events.news())["data"]
    finally:
        await outsider.aclose()
        await member.aclose()


@pytest.mark.server
async def test_a_message_written_through_one_process_shows_in_the_conversation_open_on_another(processes):
    here, there = processes
    _hood, (claire, paul) = await neighbours(2)
    await _english(claire)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire")
    heard = await _listening() if POSTGRES else None
    claire_client = await signed_in_on(here.url, claire)
    paul_client = await signed_in_on(there.url, paul)
    try:
        page = await claire_client.get(f"/messages/{conversation_id}")
        assert f'hx-sse:connect="/messages/{conversation_id}/stream?after=' in page.text
        after = page.text.split(f"/messages/{conversation_id}/stream?after=")[1].split('"')[0]
        async with Events(claire_client, f"/messages/{conversation_id}/stream?after={after}") as events:
            assert events.response.headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in events.response.headers
            written = await post_form(paul_client, f"/messages/{conversation_id}", {"body": "La perceuse est libre."})
            assert written.status_code == 303
            sent = time.monotonic()
            event = await events.news(timeout=2)
            assert time.monotonic() - sent < 2
            # Rendered for the reader: her language, his name, the report link.
            assert "La perceuse est libre." in event["data"] and "Paul V." in event["data"]
            assert "Report this message" in event["data"]
            # Seen as it arrives: the page marks it read.
            assert f'hx-post="/messages/{conversation_id}/read"' in event["data"]
            message_id = int(event["id"])
        if heard is not None:
            # Between processes only ids travel, never what was written.
            payload = await asyncio.wait_for(heard.get(), 2)
            assert payload == f"conversation:{conversation_id} {message_id}"
    finally:
        await claire_client.aclose()
        await paul_client.aclose()


@pytest.mark.server
async def test_an_open_post_gets_new_replies_but_never_from_someone_blocked(processes):
    here, there = processes
    _hood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    await Block.insert(Block(blocker=yasmine.id, blocked=paul.id))
    claire_client = await signed_in_on(here.url, claire)
    yasmine_client = await signed_in_on(here.url, yasmine)
    paul_client = await signed_in_on(there.url, paul)
    claire_writing = await signed_in_on(there.url, claire)
    url = f"/posts/{post_id}/stream?after=0"
    try:
        async with Events(claire_client, url) as claire_sees, Events(yasmine_client, url) as yasmine_sees:
            await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je la prendrais samedi."})
            event = await claire_sees.news(timeout=2)
            assert "Je la prendrais samedi." in event["data"] and "1 réponse" in event["data"]
            await post_form(claire_writing, f"/posts/{post_id}/replies", {"body": "Elle est à vous, Paul."})
            assert "Elle est à vous, Paul." in (await claire_sees.news(timeout=2))["data"]
            # Yasmine blocked Paul: his reply never reached her page; Claire's did, counted without his.
            event = await yasmine_sees.news(timeout=2)
            assert "Elle est à vous, Paul." in event["data"] and "1 réponse" in event["data"]
            assert "samedi" not in event["data"]
    finally:
        for client in (claire_client, yasmine_client, paul_client, claire_writing):
            await client.aclose()


@pytest.mark.server
async def test_a_stream_beats_while_its_session_lasts_and_ends_with_it(processes):
    here, _there = processes
    _hood, (claire, paul) = await neighbours(2)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire")
    laptop = await signed_in_on(here.url, claire)
    phone = await signed_in_on(here.url, claire)
    url = f"/messages/{conversation_id}/stream?after=0"
    try:
        async with Events(laptop, url) as events:
            # What came before the page was drawn arrives first (here: after=0, the whole thread).
            assert "Bonjour Claire" in (await events.news())["data"]
            # A comment every heartbeat keeps proxies from closing an idle stream.
            assert "comment" in await events.next(timeout=3)
            await post_form(phone, "/settings/logout-others")
            # The laptop's session is over: its stream says so, and ends.
            assert (await events.news(timeout=3))["event"] == "gone"
            assert (await events.next(timeout=3)) == {"end": True}
        again = await laptop.get(url)
        assert again.status_code != 200 and not again.headers.get("content-type", "").startswith("text/event-stream")
    finally:
        await laptop.aclose()
        await phone.aclose()


@pytest.mark.server
@pytest.mark.skipif(not POSTGRES, reason="the LISTEN connection is PostgreSQL's")
async def test_news_still_arrive_after_postgresql_drops_the_listening_connection(processes):
    here, there = processes
    _hood, (claire, paul) = await neighbours(2)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire")
    claire_client = await signed_in_on(here.url, claire)
    paul_client = await signed_in_on(there.url, paul)
    try:
        async with Events(claire_client, f"/messages/{conversation_id}/stream?after=0") as events:
            await events.news()
            dropped = await _terminate_listeners()
            assert dropped >= 2
            await post_form(paul_client, f"/messages/{conversation_id}", {"body": "Toujours là ?"})
            # Heard again once the connection is back (a second or so), or seen on the wake-up that follows it.
            assert "Toujours là ?" in (await events.news(timeout=10))["data"]
    finally:
        await claire_client.aclose()
        await paul_client.aclose()


@pytest.mark.server
async def test_a_process_holds_so_many_streams_and_ends_them_at_once_when_it_stops():
    _hood, (claire, paul) = await neighbours(2)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire")
    process = ServerProcess({"VOISINAGE_LIVE_MAX_STREAMS": "1"})
    client = await signed_in_on(process.url, claire)
    url = f"/messages/{conversation_id}/stream?after=0"
    try:
        async with Events(client, url) as events:
            await events.news()
            # One more is refused (the page then works as without JavaScript), to be asked again later.
            refused = await client.get(url, headers={"HX-Request": "true"})
            assert refused.status_code == 503 and refused.headers["retry-after"]
            stopping = asyncio.create_task(asyncio.to_thread(process.stop))
            # Ended at once, not after the graceful timeout (5 s) an open stream
            # would hold the exit to; and with no "gone": htmx reconnects
            # (behind the proxy, to another process).
            assert await events.next(timeout=3) == {"end": True}
            assert await stopping < 10
        assert process.proc.returncode == 0
    finally:
        await client.aclose()
        process.stop()


@pytest.mark.server
async def test_every_process_of_serve_workers_ends_its_streams_at_once_when_the_service_stops():
    """The deployment guide's unit runs `serve --workers N`: a restart, one
    host after another, must not leave its pages hanging on a stopping process."""
    _hood, (claire, paul) = await neighbours(2)
    conversation_id = await send(paul.id, claire.id, "Bonjour Claire")
    process = ServerProcess(args=("--workers", "2"))
    client = await signed_in_on(process.url, claire)
    url = f"/messages/{conversation_id}/stream?after=0"
    try:
        async with contextlib.AsyncExitStack() as streams:
            # Four tabs: the kernel spreads their connections over the two processes.
            tabs = [await streams.enter_async_context(Events(client, url)) for _ in range(4)]
            for events in tabs:
                await events.news()
            stopping = asyncio.create_task(asyncio.to_thread(process.stop))
            # Each ended before the graceful timeout (5 s) would have cut it, and without "gone".
            ends = await asyncio.gather(*(events.next(timeout=3) for events in tabs))
            assert ends == [{"end": True}] * 4
            assert await stopping < 10
        assert process.proc.returncode == 0
    finally:
        await client.aclose()
        process.stop()


@pytest.mark.server
async def test_no_live_route_answers_5xx_to_hostile_input(processes):
    """What tests/test_hostile_input.py sends every other route, to the live
    ones on a real server (in-process, a stream would never end)."""
    from app.main import create_app
    from tests.test_hostile_input import NUMBERS, PATH_TEXTS, TEXTS

    here, _there = processes
    _hood, (claire, paul) = await neighbours(2)
    targets = {
        "conversation_id": await send(paul.id, claire.id, "Bonjour Claire"),
        "post_id": await make_post(claire),
    }
    paths = [
        r.path for r in create_app(own_database=False).routes if any(h.opt.get(live.STREAM) for h in r.route_handlers)
    ]
    assert len(paths) == 2, paths
    client = await signed_in_on(here.url, claire)
    try:
        for path in paths:
            name = re.search(r"\{(\w+):", path).group(1)
            for value in NUMBERS + PATH_TEXTS:
                answer = await client.get(re.sub(r"\{\w+:\w+\}", quote(value, safe=""), path))
                assert answer.status_code == 404, (path, value, answer.status_code)
            url = re.sub(r"\{\w+:\w+\}", str(targets[name]), path)
            for value in NUMBERS + TEXTS:
                # In headers, all but the control characters no client can send.
                header = bytes(b for b in value.encode() if b >= 0x20)[:2000]
                hostile = {"Last-Event-ID": header, "Accept-Language": header}
                async with Events(client, f"{url}?{urlencode({'after': value})}", hostile) as events:
                    assert events.response.status_code == 200, (url, value, events.response.status_code)
                    assert events.response.headers["content-type"].startswith("text/event-stream")
                    assert "comment" in await events.next()
    finally:
        await client.aclose()


async def test_a_stream_that_does_not_keep_up_is_dropped():
    """A slow client's news pile up to QUEUE_SIZE; one more and its stream ends
    (its client reconnects and catches up from its Last-Event-ID)."""
    with live.HUB.subscribe("conversation:0") as slow, live.HUB.subscribe("conversation:0") as quick:
        for item_id in range(1, live.QUEUE_SIZE + 1):
            live.HUB.deliver("conversation:0", item_id)
            if item_id % 4 == 0:
                assert await quick.news(timeout=0.1)
        assert not slow.dropped and not quick.dropped
        live.HUB.deliver("conversation:0", live.QUEUE_SIZE + 1)
        assert slow.dropped and not quick.dropped


async def _english(user) -> None:
    from app.accounts.tables import User

    await User.update({User.locale: "en"}).where(User.id == user.id)


async def _listening() -> asyncio.Queue:
    """What crosses between processes, heard as a third process would."""
    heard: asyncio.Queue = asyncio.Queue()
    connection = await asyncpg.connect(get_settings().database_url)
    await connection.add_listener(live.CHANNEL, lambda _c, _pid, _channel, payload: heard.put_nowait(payload))
    _listeners.append(connection)
    return heard


_listeners: list = []


@pytest.fixture(autouse=True)
async def _close_listeners():
    yield
    while _listeners:
        with contextlib.suppress(Exception):
            await _listeners.pop().close()


async def _terminate_listeners() -> int:
    connection = await asyncpg.connect(get_settings().database_url)
    try:
        return await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            live.APPLICATION_NAME,
        )
    finally:
        await connection.close()
