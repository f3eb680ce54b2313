"""The page the service worker keeps for when the network is gone: whoever
uses the device next sees it, so it carries nothing of the person whose
visit cached it."""

from __future__ import annotations

from tests.factories import csrf, login, make_neighbourhood, make_user


async def test_the_offline_page_cached_during_a_visit_carries_nothing_of_the_visitor(client):
    neighbourhood = await make_neighbourhood()
    claire = await make_user(neighbourhood, first_name="Clothilde", last_name="Bérangère")
    await login(client, claire)
    feed = (await client.get("/feed")).text
    assert csrf(client) in feed and "/messages" in feed

    response = await client.get("/offline")

    assert response.status_code == 200
    page = response.text
    assert "Pas de connexion" in page
    assert "Clothilde" not in page and "Bérangère" not in page
    assert csrf(client) not in page and "csrf" not in page.lower()
    assert "/messages" not in page and "/settings" not in page and "Se déconnecter" not in page
    assert "/moderation/public" not in page
