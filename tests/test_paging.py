"""Every long list goes page by page: a neighbour or a moderator following
the link at the bottom sees each item once, in the list's order, until a
page without a link (the keyset pages of app/db/keyset.py)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

from app.events import queries as events
from app.messages import queries as messages
from app.notify.queries import notify
from app.posts import queries as posts
from tests.factories import make_moderator, make_user, post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def _walk(client, url: str, item: str, more: str) -> list[list[str]]:
    """The items of each page, following the `more` link (a regex whose group is the URL)."""
    pages = []
    while url:
        page = await client.get(url)
        assert page.status_code == 200, url
        pages.append(re.findall(item, page.text))
        found = re.search(more, page.text)
        url = html.unescape(found.group(1)) if found else None
        assert len(pages) < 10, "the pages never end"
    return pages


async def test_notifications_go_back_thirty_at_a_time(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    for i in range(65):
        await notify(
            [claire.id], "reply_to_post", url="/feed", params={"who": "Paul V.", "title": f"Réponse numéro {i:02d}"}
        )
    client = await signed_in(make_client, claire)
    pages = await _walk(client, "/notifications", r"Réponse numéro (\d\d)", r'href="(/notifications\?before=\d+)"')
    assert [len(p) for p in pages] == [30, 30, 5]
    assert sum(pages, []) == [f"{i:02d}" for i in range(64, -1, -1)]


async def test_a_long_conversation_opens_on_its_latest_messages_and_goes_back_in_time(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    for i in range(120):
        conversation_id = await messages.send(paul.id, claire.id, f"Message numéro {i:03d}")
    client = await signed_in(make_client, claire)
    pages = await _walk(
        client, f"/messages/{conversation_id}", r"Message numéro (\d{3})", r'href="(/messages/\d+\?before=\d+)"'
    )
    # Each page reads oldest first; each link goes further back.
    assert pages == [
        [f"{i:03d}" for i in range(70, 120)],
        [f"{i:03d}" for i in range(20, 70)],
        [f"{i:03d}" for i in range(0, 20)],
    ]


async def test_upcoming_events_go_on_page_after_page_even_when_several_start_together(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for i in range(35):
        # Three by three at the same hour: the page may end between two of them.
        starts = start + timedelta(hours=i // 3)
        await events.create_event(
            author=claire,
            title=f"Atelier numéro {i:02d}",
            body="Ouvert à tous.",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            place="Square",
            capacity=None,
            photos=[],
        )
    client = await signed_in(make_client, claire)
    pages = await _walk(client, "/events", r"Atelier numéro (\d\d)</a>", r'<a href="(/events\?after=[^"]+)"')
    assert [len(p) for p in pages] == [30, 5]
    assert sum(pages, []) == [f"{i:02d}" for i in range(35)]


async def test_the_neighbours_offering_a_skill_come_fifty_at_a_time(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    helpers = [await make_user(neighbourhood, first_name="Aide", last_name=f"Numéro{i:02d}") for i in range(55)]
    for helper in helpers:
        await posts.set_skills(helper, ["informatique"])
    client = await signed_in(make_client, claire)
    pages = await _walk(
        client,
        "/neighbours?skill=informatique",
        r'<li><a href="/users/(\d+)">',
        r'href="(/neighbours\?skill=informatique&amp;after=\d+)"',
    )
    assert [len(p) for p in pages] == [50, 5]
    assert sum(pages, []) == [str(h.id) for h in helpers]


async def test_the_moderation_log_goes_back_fifty_acts_at_a_time(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    moderator = await signed_in(make_client, await make_moderator(neighbourhood))
    for i in range(55):
        post_id = await make_post(claire, title=f"Annonce {i:02d}")
        await post_form(moderator, f"/moderation/posts/{post_id}/hide", {"reason": f"Motif numéro {i:02d}"})
    pages = await _walk(
        moderator, "/moderation/log", r"<td>Motif numéro (\d\d)</td>", r'href="(/moderation/log\?before=\d+)"'
    )
    assert [len(p) for p in pages] == [50, 5]
    assert sum(pages, []) == [f"{i:02d}" for i in range(54, -1, -1)]


async def test_the_report_queue_shows_the_oldest_thirty_then_the_next(make_client):
    neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    # Two reporters: one may send 30 reports an hour.
    reporters = [await signed_in(make_client, paul), await signed_in(make_client, yasmine)]
    for i in range(35):
        post_id = await make_post(claire, title=f"Annonce {i:02d}")
        await post_form(
            reporters[i % 2], f"/posts/{post_id}/report", {"reason": "spam", "text": f"Signalement numéro {i:02d}"}
        )
    moderator = await signed_in(make_client, await make_moderator(neighbourhood))
    pages = await _walk(moderator, "/moderation", r"Signalement numéro (\d\d)", r'href="(/moderation\?after=\d+)"')
    assert [len(p) for p in pages] == [30, 5]
    assert sum(pages, []) == [f"{i:02d}" for i in range(35)]
