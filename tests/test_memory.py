"""Each process remembers the sessions it looked up and the opening page of
the feeds it served (app.db.memory), and nothing a neighbour or a moderator
changes through any process, or any other program writing to the database,
is hidden by it: a logout, a suspension, a block, a new notification, a new
post, a hidden one, a thanks, a saved post, a new name show at the very next
page, served by whichever process.

Two real server processes, A and B, share the test database (SQLite's file,
or PostgreSQL, where the news cross by NOTIFY). A form is refused at once; on
SQLite a page view shows the change at once too. On PostgreSQL the notice
takes from a fraction of a millisecond to a few to cross, and a page view
asked within that moment may still be served from memory: those checks ask
again for up to a second (a memory that was not told would keep the session
for LIFETIME, 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from app import live
from app.accounts.tables import Block, Session, User
from app.db import memory
from app.posts.tables import Post, Reply, Thanks
from app.settings import get_settings
from tests.factories import make_neighbourhood, make_user, post_form
from tests.factories_posts import make_post, publish
from tests.server import ServerProcess, signed_in_on

POSTGRES = get_settings().is_postgres
COOKIE = get_settings().session_cookie


@pytest.fixture(scope="module")
def processes():
    first, second = ServerProcess(), ServerProcess()
    yield first, second
    for process in (first, second):
        process.stop()


@contextlib.asynccontextmanager
async def closing(*clients: httpx.AsyncClient):
    try:
        yield
    finally:
        for client in clients:
            await client.aclose()


def _same_browser_on(client: httpx.AsyncClient, server: ServerProcess) -> httpx.AsyncClient:
    """The same person (same cookies, kept apart) reaching the other process, as a balancer may send them."""
    return httpx.AsyncClient(base_url=server.url, cookies=dict(client.cookies), timeout=30)


async def _reads_signed_in(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/feed")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


async def _soon(check) -> bool:
    """`check()` at once; on PostgreSQL, again until it holds, for a second at most."""
    deadline = time.monotonic() + (1.0 if POSTGRES else 0.0)
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)


async def _signed_out(client: httpx.AsyncClient) -> bool:
    return not await _reads_signed_in(client)


def _unread(page: str) -> str | None:
    found = re.search(r'<span class="badge">([^<]+)<', page)
    return found.group(1) if found else None


@pytest.mark.server
async def test_a_session_ended_through_one_process_is_refused_at_once_by_the_other(processes):
    a, b = processes
    claire = await make_user(await make_neighbourhood())
    phone, laptop = await signed_in_on(a.url, claire), await signed_in_on(a.url, claire)
    phone_on_b, laptop_on_b = _same_browser_on(phone, b), _same_browser_on(laptop, b)
    async with closing(phone, laptop, phone_on_b, laptop_on_b):
        for _ in range(3):  # B has looked both sessions up, and remembers them
            assert await _reads_signed_in(laptop_on_b) and await _reads_signed_in(phone_on_b)

        # From her phone, through A, Claire logs her other devices out: a form
        # from the laptop sent to B is refused at once, its pages soon.
        assert (await post_form(phone, "/settings/logout-others")).status_code == 303
        refused = await post_form(laptop_on_b, "/settings/profile", {"bio": "Encore là ?"})
        assert refused.status_code in (303, 403)
        assert await _soon(lambda: _signed_out(laptop_on_b))
        assert await _reads_signed_in(phone_on_b)

        # Then she logs out of her phone too, through A: its old cookie is worth nothing on B.
        assert (await post_form(phone, "/logout")).status_code == 303
        assert await _soon(lambda: _signed_out(phone_on_b))
    assert await User.select(User.bio).where(User.id == claire.id).first() == {"bio": claire.bio}


async def _claire_and_paul(a: ServerProcess, b: ServerProcess):
    """Claire and Paul in a quartier, each with a post, both signed in through
    A; Claire's browser also reaches B."""
    quartier = await make_neighbourhood()
    claire = await make_user(quartier, first_name="Claire")
    paul = await make_user(quartier, first_name="Paul")
    her_post = await make_post(claire, title="Échelle à prêter")
    await make_post(paul, title="Tondeuse de Paul")
    claire_on_a = await signed_in_on(a.url, claire)
    paul_on_a = await signed_in_on(a.url, paul)
    return claire, paul, her_post, claire_on_a, paul_on_a, _same_browser_on(claire_on_a, b)


@pytest.mark.server
async def test_what_is_written_elsewhere_shows_at_once_to_a_session_another_process_remembers(processes):
    claire, paul, her_post, claire_on_a, paul_on_a, claire_on_b = await _claire_and_paul(*processes)
    async with closing(claire_on_a, paul_on_a, claire_on_b):
        for _ in range(3):
            page = (await claire_on_b.get("/feed")).text
        assert _unread(page) is None and "Tondeuse de Paul" in page

        # Paul answers her through A: B's next page counts the notification.
        await paul_on_a.get(f"/posts/{her_post}")
        answer = await post_form(paul_on_a, f"/posts/{her_post}/replies", {"body": "Je peux passer ce soir ?"})
        assert answer.status_code == 303

        async def unread() -> str | None:
            return _unread((await claire_on_b.get("/feed")).text)

        async def counted() -> bool:
            return await unread() == "1"

        async def none_unread() -> bool:
            return await unread() is None

        async def paul_hidden() -> bool:
            return "Tondeuse de Paul" not in (await claire_on_b.get("/feed")).text

        assert await _soon(counted)

        # She marks it read through A: the count is gone on B.
        assert (await post_form(claire_on_a, "/notifications/read", {"id": ""})).status_code == 303
        assert await _soon(none_unread)

        # Another program (this test) records that Paul blocked her: his post leaves her feed on B.
        await Block.insert(Block(blocker=paul.id, blocked=claire.id))
        assert await _soon(paul_hidden)

        # A moderator's suspension, written elsewhere, ends her session on B:
        # her next form at once, her pages soon.
        await User.update({User.suspended_until: datetime.now(timezone.utc) + timedelta(days=1)}).where(
            User.id == claire.id
        )
        refused = await post_form(claire_on_b, f"/posts/{her_post}/replies", {"body": "Merci Paul !"})
        assert refused.status_code in (303, 403)
        assert not await Reply.exists().where(Reply.body == "Merci Paul !")
        assert await _soon(lambda: _signed_out(claire_on_b))


@pytest.mark.server
async def test_a_feed_another_process_remembers_shows_at_once_what_is_written_anywhere(processes):
    claire, paul, her_post, claire_on_a, paul_on_a, claire_on_b = await _claire_and_paul(*processes)

    async def feed() -> str:
        answer = await claire_on_b.get("/feed")
        assert answer.status_code == 200
        return answer.text

    def shows(*texts: str, absent: tuple[str, ...] = ()):
        async def check() -> bool:
            page = await feed()
            return all(t in page for t in texts) and not any(t in page for t in absent)

        return check

    async with closing(claire_on_a, paul_on_a, claire_on_b):
        for _ in range(3):  # B remembers her feed's opening
            assert "Tondeuse de Paul" in await feed()

        # Paul publishes through A.
        done = await publish(paul_on_a, {"kind": "give", "title": "Poussette à donner", "body": "Bon état."})
        assert done.status_code == 303
        pram = int(done.headers["location"].rsplit("/", 1)[1])
        assert await _soon(shows("Poussette à donner"))

        # Claire saves it through A: her card on B says so.
        assert (await post_form(claire_on_a, f"/posts/{pram}/save", {"saved": "1"})).status_code == 303
        assert await _soon(shows('Enregistré<span class="visually-hidden"> : Poussette à donner'))

        # Another program (this test) records that she thanked Paul on her post, and renames him.
        await Thanks.insert(Thanks(post=her_post, giver=claire.id, helper=paul.id))
        assert await _soon(shows("Merci à Paul"))
        await User.update({User.first_name: "Paulo"}).where(User.id == paul.id)
        assert await _soon(shows("Merci à Paulo"))

        # A moderator hides Paul's mower (written elsewhere): it leaves her feed on B.
        await Post.update({Post.status: "hidden", Post.hidden_reason: "Hors charte"}).where(
            Post.title == "Tondeuse de Paul"
        )
        assert await _soon(shows("Poussette à donner", absent=("Tondeuse de Paul",)))


async def _logging_out_through_a_reaches(a: ServerProcess, other: ServerProcess, claire) -> None:
    """Claire's laptop, remembered by `other`, is logged out from her phone through A."""
    phone, laptop = await signed_in_on(a.url, claire), await signed_in_on(a.url, claire)
    laptop_elsewhere = _same_browser_on(laptop, other)
    async with closing(phone, laptop, laptop_elsewhere):
        assert await _reads_signed_in(laptop_elsewhere) and await _reads_signed_in(laptop_elsewhere)
        assert (await post_form(phone, "/settings/logout-others")).status_code == 303
        assert await _soon(lambda: _signed_out(laptop_elsewhere))


async def _listening_processes(connection: asyncpg.Connection) -> int:
    return await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
        live.APPLICATION_NAME,
    )


@pytest.mark.server
@pytest.mark.skipif(not POSTGRES, reason="the NOTIFY of PostgreSQL's triggers")
async def test_the_triggers_are_what_keeps_a_remembered_session_true_and_a_form_never_trusts_memory(processes):
    a, b = processes
    claire = await make_user(await make_neighbourhood())
    laptop = await signed_in_on(a.url, claire)
    laptop_on_b = _same_browser_on(laptop, b)
    connection = await asyncpg.connect(get_settings().database_url)
    async with closing(laptop, laptop_on_b):
        try:
            for _ in range(3):
                assert await _reads_signed_in(laptop_on_b)
            # Her session deleted where no trigger tells anyone: B's memory still has it, for reading only...
            await connection.execute("ALTER TABLE user_session DISABLE TRIGGER user_session_session_changed")
            await connection.execute('DELETE FROM user_session WHERE "user" = $1', claire.id)
        finally:
            await connection.execute("ALTER TABLE user_session ENABLE TRIGGER user_session_session_changed")
        assert await _reads_signed_in(laptop_on_b)
        # ...a form sent to B reads the session anew, and is refused.
        refused = await post_form(laptop_on_b, "/settings/profile", {"bio": "Bonjour"})
        assert refused.status_code in (303, 403)
        assert await User.select(User.bio).where(User.id == claire.id).first() == {"bio": claire.bio}
    await connection.close()


@pytest.mark.server
@pytest.mark.skipif(not POSTGRES, reason="app.live's LISTEN connection to PostgreSQL")
async def test_a_process_that_cannot_hear_postgresql_remembers_no_session_until_it_hears_again(processes):
    a, b = processes
    claire = await make_user(await make_neighbourhood())
    connection = await asyncpg.connect(get_settings().database_url)
    try:
        laptop = await signed_in_on(a.url, claire)
        laptop_on_b = _same_browser_on(laptop, b)
        async with closing(laptop, laptop_on_b):
            assert await _reads_signed_in(laptop_on_b) and await _reads_signed_in(laptop_on_b)
            listening = await _listening_processes(connection)
            assert listening >= 2
            await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                live.APPLICATION_NAME,
            )
            await asyncio.sleep(0.3)  # long enough for B to see its connection closed, not to open another
            # Her sessions end while nobody listens: B must not take her session from memory.
            await Session.delete().where(Session.user == claire.id)
            assert await _signed_out(laptop_on_b)

        # Once the processes listen again, remembering resumes, and stays true.
        deadline = time.monotonic() + 20
        while await _listening_processes(connection) < listening:
            assert time.monotonic() < deadline, "the processes did not listen again"
            await asyncio.sleep(0.1)
        await _logging_out_through_a_reaches(a, b, claire)
    finally:
        await connection.close()


async def _statements_while(marker: str, *requests) -> int:
    """How many statements whose SQL has `marker` ran while these requests were answered."""
    db = Session._meta.db
    original = db.run_querystring
    seen = 0

    async def counting(querystring, *args, **kwargs):
        nonlocal seen
        seen += marker in querystring.template
        return await original(querystring, *args, **kwargs)

    db.run_querystring = counting
    try:
        for request in requests:
            assert (await request).status_code in (200, 303)
    finally:
        del db.run_querystring
    return seen


SESSION_LOOKUP = "FROM user_session s"
FEED_OPENING = "AS pinned_part"


@pytest.fixture
async def heard():
    """This test process listens to PostgreSQL as a server process does (on SQLite, nothing to start)."""
    task = None
    if POSTGRES:
        task = asyncio.create_task(live.listen_forever(get_settings().database_url))
        async with asyncio.timeout(10):
            while not memory.hearing():
                await asyncio.sleep(0.01)
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    memory.forget_all()


async def test_page_views_read_the_session_once_until_something_is_written(client, heard):
    from tests.factories import login

    claire = await make_user(await make_neighbourhood())
    await login(client, claire)
    # On PostgreSQL, the notice of this process's own write (the login) may
    # arrive after the first page and make it read once more.
    once = 2 if POSTGRES else 1
    assert await _statements_while(SESSION_LOOKUP, *(client.get("/feed") for _ in range(5))) <= once
    # A write by this process (her bio) forgets at once: the next page reads the session anew.
    await User.update({User.bio: "Jardinière"}).where(User.id == claire.id)
    assert 1 <= await _statements_while(SESSION_LOOKUP, *(client.get("/feed") for _ in range(5))) <= once
    assert "Jardinière" in (await client.get("/settings/profile")).text
    # A form reads it every time.
    sent = [post_form(client, "/settings/profile", {"bio": f"Jardinière, {n}"}) for n in range(3)]
    assert await _statements_while(SESSION_LOOKUP, *sent) == 3
    assert await User.select(User.bio).where(User.id == claire.id).first() == {"bio": "Jardinière, 2"}


def test_a_process_remembers_so_many_sessions_for_so_long_and_nothing_read_before_a_change():
    sessions = memory.Memory(size=2, tables=("user_session",), lifetime=0.2)
    for n in (1, 2, 3):
        sessions.keep(f"token {n}", n, {"id": n}, sessions.forgettings)
    # The oldest goes first, so a process's memory stays the size it was given.
    assert len(sessions) == 2 and sessions.recall("token 1") is None and sessions.recall("token 3") == {"id": 3}

    # A lookup that began before a change keeps nothing of what it read.
    began = sessions.forgettings
    sessions.forget_group(2)
    assert sessions.recall("token 2") is None
    sessions.keep("token 4", 4, {"id": 4}, began)
    assert sessions.recall("token 4") is None

    # Whatever happens, a session is read anew after the lifetime.
    time.sleep(0.25)
    assert sessions.recall("token 3") is None and len(sessions) == 0


async def test_a_feed_opened_again_and_again_is_read_once_until_something_is_written(client, heard):
    from tests.factories import login

    quartier = await make_neighbourhood()
    claire = await make_user(quartier)
    await make_post(claire, title="Échelle à prêter")
    await login(client, claire)
    # On PostgreSQL, the notice of a write of this process may arrive after the first page.
    once = 2 if POSTGRES else 1
    assert await _statements_while(FEED_OPENING, *(client.get("/feed") for _ in range(5))) <= once
    await make_post(claire, title="Scie sauteuse à prêter")
    assert 1 <= await _statements_while(FEED_OPENING, *(client.get("/feed") for _ in range(5))) <= once
    assert "Scie sauteuse à prêter" in (await client.get("/feed")).text


async def test_a_reader_opening_the_feed_in_many_tabs_at_once_makes_one_read(client, heard):
    from tests.factories import login

    claire = await make_user(await make_neighbourhood())
    await make_post(claire, title="Échelle à prêter")
    await login(client, claire)
    await asyncio.sleep(0.1)  # the notices of her login have arrived
    memory.forget_all()  # her feed grew old

    async def all_at_once():
        answers = await asyncio.gather(*(client.get("/feed") for _ in range(10)))
        assert all("Échelle à prêter" in answer.text for answer in answers)
        return answers[-1]

    # On PostgreSQL the reads overlap (on SQLite a read runs on the loop, one after the other).
    assert await _statements_while(FEED_OPENING, all_at_once()) == 1


@pytest.mark.skipif(not POSTGRES, reason="on SQLite any commit makes a process forget (data_version)")
async def test_a_write_that_no_feed_reads_does_not_make_every_feed_read_again(client, heard):
    from app import ratelimits
    from tests.factories import login

    quartier = await make_neighbourhood()
    claire = await make_user(quartier)
    await make_post(claire, title="Échelle à prêter")
    await login(client, claire)
    await _statements_while(FEED_OPENING, client.get("/feed"))
    await asyncio.sleep(0.1)  # the notices of her login have arrived
    assert await _statements_while(FEED_OPENING, client.get("/feed")) <= 1
    # Elsewhere in the town, someone is counted by a rate limit: no feed changed.
    await ratelimits.hit("reply:1234", 60, 3600)
    assert await _statements_while(FEED_OPENING, *(client.get("/feed") for _ in range(3))) == 0
    # A post in her quartier: her feed is read again, and shows it.
    await make_post(claire, title="Scie sauteuse à prêter")
    assert 1 <= await _statements_while(FEED_OPENING, *(client.get("/feed") for _ in range(3))) <= 2
    assert "Scie sauteuse à prêter" in (await client.get("/feed")).text


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's LISTEN")
async def test_a_connection_that_does_not_hear_its_own_notice_is_not_trusted_to_keep_memories_true():
    connection = await asyncpg.connect(get_settings().database_url)
    echoes: asyncio.Queue = asyncio.Queue()

    def heard(_connection, _pid, _channel, payload):
        echoes.put_nowait(payload)

    try:
        await connection.add_listener(live.ECHO_CHANNEL, heard)
        await live.hears_itself(connection, echoes, timeout=5)
        # No longer listening, as behind a pooler that handed its LISTEN to another client: found out.
        await connection.remove_listener(live.ECHO_CHANNEL, heard)
        with pytest.raises(TimeoutError):
            await live.hears_itself(connection, echoes, timeout=0.5)
    finally:
        await connection.close()


@pytest.mark.server
@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's LISTEN")
async def test_a_process_may_listen_through_another_address_than_its_pool(processes):
    """As behind PgBouncer: the pool through the pooler, LISTEN straight to PostgreSQL."""
    a, _b = processes
    dsn = get_settings().database_url
    connection = await asyncpg.connect(dsn)
    await connection.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'voisinage_listener') THEN "
        "CREATE ROLE voisinage_listener LOGIN; END IF; END $$"
    )
    parts = urlsplit(dsn)
    listen_dsn = urlunsplit(parts._replace(netloc=f"voisinage_listener@{parts.hostname}:{parts.port}"))
    c = ServerProcess({"VOISINAGE_LISTEN_DATABASE_URL": listen_dsn})
    try:
        deadline = time.monotonic() + 20
        while not await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND usename = 'voisinage_listener' "
            "AND datname = current_database()",
            live.APPLICATION_NAME,
        ):
            assert time.monotonic() < deadline, "the process does not listen as voisinage_listener"
            await asyncio.sleep(0.1)

        await _logging_out_through_a_reaches(a, c, await make_user(await make_neighbourhood()))
    finally:
        c.stop()
        await connection.close()


async def test_fifty_requests_asking_at_once_for_a_value_grown_old_read_it_once():
    from app.db.recent import Recent

    kept: Recent[str] = Recent(seconds=60)
    reads = 0

    async def read() -> str:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)  # the query's round trip, during which others ask
        return f"quartier, read {reads}"

    answers = await asyncio.gather(*(kept.get("quartier", read) for _ in range(50)))
    assert reads == 1 and set(answers) == {"quartier, read 1"}

    # Changed while it was read again: those already waiting get that read, the next ask reads anew.
    kept.forget("quartier")
    first = asyncio.ensure_future(kept.get("quartier", read))
    await asyncio.sleep(0.01)
    kept.forget("quartier")
    assert await first == "quartier, read 2"
    assert await kept.get("quartier", read) == "quartier, read 3"

    # A read that fails leaves those waiting to read for themselves.
    async def failing() -> str:
        await asyncio.sleep(0.02)
        raise ConnectionError

    kept.forget("quartier")
    failed = asyncio.ensure_future(kept.get("quartier", failing))
    await asyncio.sleep(0.005)
    waiting = asyncio.ensure_future(kept.get("quartier", read))
    with pytest.raises(ConnectionError):
        await failed
    assert await waiting == "quartier, read 4"
