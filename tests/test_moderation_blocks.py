from app.access import blocked_ids
from tests.factories import login, make_neighbourhood, make_user, post_form


async def test_a_neighbour_blocks_then_unblocks_someone(client):
    neighbourhood = await make_neighbourhood()
    me = await make_user(neighbourhood, email="me@example.org")
    other = await make_user(neighbourhood, first_name="Paul", email="paul@example.org")
    await login(client, me)
    r = await post_form(client, f"/users/{other.id}/block")
    assert r.status_code == 303
    assert await blocked_ids(me.id) == [other.id]
    assert await blocked_ids(other.id) == [me.id]
    r = await post_form(client, f"/users/{other.id}/unblock")
    assert r.status_code == 303
    assert await blocked_ids(me.id) == []


async def test_blocking_oneself_or_an_unknown_person_is_not_found(client):
    neighbourhood = await make_neighbourhood()
    me = await make_user(neighbourhood)
    await login(client, me)
    assert (await post_form(client, f"/users/{me.id}/block")).status_code == 404
    assert (await post_form(client, "/users/999999/block")).status_code == 404
    assert await blocked_ids(me.id) == []


async def test_after_blocking_someone_the_inbox_still_opens_without_them(make_client):
    from app.messages import queries as messages
    from tests.factories_posts import neighbours, signed_in

    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    await messages.send(paul.id, claire.id, "Message de Paul")
    await messages.send(yasmine.id, claire.id, "Message de Yasmine")
    client = await signed_in(make_client, claire)
    assert (await post_form(client, f"/users/{paul.id}/block")).status_code == 303
    inbox = await client.get("/messages")
    assert inbox.status_code == 200
    assert "Yasmine V." in inbox.text and "Paul V." not in inbox.text
