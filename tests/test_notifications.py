"""In-app notifications: what a neighbour sees after someone answers them."""

from __future__ import annotations

import re

from app.notify.queries import notify
from tests.factories import post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def test_neighbour_reply_shows_in_notifications_with_an_unread_count(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je suis preneur !"})

    client = await signed_in(make_client, claire)
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert badge.status_code == 200 and badge.text.lstrip().startswith('<a id="notif-badge"')
    assert '<span class="badge">1<' in badge.text and "no-store" in badge.headers["cache-control"]
    page = await client.get("/notifications")
    assert "Paul V. a répondu à « Tondeuse à prêter »" in page.text
    assert f'href="/posts/{post_id}#replies"' in page.text and "non lue" in page.text

    # Nobody else sees it.
    other = await signed_in(make_client, yasmine)
    assert "Tondeuse" not in (await other.get("/notifications")).text

    done = await post_form(client, "/notifications/read")
    assert done.status_code == 303
    assert '<span class="badge">' not in (await client.get("/notifications/badge", headers={"HX-Request": "true"})).text
    assert "non lue" not in (await client.get("/notifications")).text


async def test_notifications_need_to_be_signed_in(make_client):
    anonymous = await make_client()
    response = await anonymous.get("/notifications")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def _navigation(html: str) -> str:
    return re.search(r'<nav aria-label="Navigation principale">.*?</nav>', html, re.S).group(0)


async def test_the_unread_count_is_in_the_navigation_of_every_page_without_javascript(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je suis preneur !"})
    sent = await post_form(paul_client, "/messages", {"to": str(claire.id), "post": str(post_id), "body": "Ce soir ?"})
    conversation = sent.headers["location"].split("#")[0]

    client = await signed_in(make_client, claire)
    # A reply and a message: two notifications, whatever else the page counts
    # (the conversation has its own « 1 non lu »).
    for path in ("/feed", "/events", "/settings", f"/posts/{post_id}", "/messages", conversation):
        assert 'Notifications <span class="badge">2<' in _navigation((await client.get(path)).text), path
    assert (await post_form(client, "/notifications/read")).status_code == 303
    assert '<span class="badge">' not in _navigation((await client.get("/feed")).text)


async def test_a_long_unread_list_shows_99_plus(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    for _ in range(110):
        await notify([claire.id], "moderation", url="/feed", params={"what": "verified"})
    client = await signed_in(make_client, claire)
    assert 'Notifications <span class="badge">99+<' in _navigation((await client.get("/feed")).text)
