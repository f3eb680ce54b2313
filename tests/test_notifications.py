"""In-app notifications: what a neighbour sees after someone answers them."""

from __future__ import annotations

from tests.factories import post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def test_neighbour_reply_shows_in_notifications_with_an_unread_count(make_client):
    _hood, (claire, paul, yasmine) = await neighbours(3)
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
