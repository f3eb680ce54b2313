"""Sixty neighbours vote at the same moment while one of them keeps changing
their mind, against real server processes: every count is exactly the number
of people whose last choice it is."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from app.accounts.sessions import start_session
from app.polls import queries
from app.polls.tables import PollVote
from tests.factories import make_user
from tests.factories_posts import neighbours
from tests.server import ServerProcess

pytestmark = pytest.mark.server

VOTERS = 60
CHANGES = 12


async def test_simultaneous_votes_and_a_vote_changed_over_and_over_are_counted_exactly(make_client):
    from datetime import datetime, timedelta, timezone

    neighbourhood, (asker,) = await neighbours(1)
    post_id = await queries.create_discussion(
        author=asker,
        title="Le marché le samedi ?",
        body="Votez !",
        details={},
        photos=[],
        poll=queries.PollDraft(
            labels=["Oui", "Non", "Sans avis"], multiple=False, closes_at=datetime.now(timezone.utc) + timedelta(days=2)
        ),
    )
    poll = await queries.for_post(post_id)
    options = [o["id"] for o in await queries.options_of(poll["id"])]
    people = [await make_user(neighbourhood, first_name="Voisin", last_name=f"N{i}") for i in range(VOTERS)]
    tokens = [await start_session(p.id) for p in people]
    server = ServerProcess(args=("--workers", "2"))
    try:

        async def client_for(n: int, token: str) -> httpx.AsyncClient:
            # Each person from their own address and with their own session.
            headers = {"X-Forwarded-For": f"10.2.{n // 200}.{n % 200 + 1}", "Host": server.host_header}
            # A fresh connection per request: on a loaded machine, making the
            # sixty clients takes longer than the server keeps an idle
            # connection (5 s), and a vote sent as it closes one would be lost
            # by the harness, not by Voisinage.
            c = httpx.AsyncClient(
                base_url=server.url,
                headers=headers,
                cookies={"session": token},
                timeout=90,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            assert (await c.get(f"/posts/{post_id}")).status_code == 200
            return c

        clients = [await client_for(n, t) for n, t in enumerate(tokens)]

        async def vote(c: httpx.AsyncClient, option: int) -> int:
            response = await c.post(
                f"/posts/{post_id}/vote", data={"_csrf_token": c.cookies["csrftoken"], "option": str(option)}
            )
            return response.status_code

        # Person 0 changes their vote CHANGES times while everyone votes.
        waverer = [vote(clients[0], options[k % 3]) for k in range(CHANGES)]
        others = [vote(c, options[n % 3]) for n, c in enumerate(clients) if n]
        statuses = await asyncio.gather(*waverer, *others)
        for c in clients:
            await c.aclose()
        assert statuses == [303] * (CHANGES + VOTERS - 1)
        log = server.output()
        assert "database is locked" not in log and "Traceback" not in log
    finally:
        server.stop()

    votes = await PollVote.select(PollVote.user, PollVote.option).where(PollVote.poll == poll["id"])
    assert len(votes) == VOTERS and len({v["user"] for v in votes}) == VOTERS
    [waverers_choice] = [v["option"] for v in votes if v["user"] == people[0].id]
    expected = Counter(options[n % 3] for n in range(1, VOTERS))
    expected[waverers_choice] += 1
    counted = {o["id"]: o["vote_count"] for o in await queries.options_of(poll["id"])}
    assert counted == dict(expected) == dict(Counter(v["option"] for v in votes))
    assert (await queries.for_post(post_id))["voter_count"] == VOTERS
