"""Moderators act on posts of their own quartiers only, and every act is logged."""

from __future__ import annotations

import pytest

from app.accounts.tables import ModeratorAssignment
from app.moderation.tables import ModerationAction
from app.posts.tables import Post
from tests.factories import field_error, make_user, notifications_of, post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def _moderator_of(neighbourhood):
    moderator = await make_user(neighbourhood, first_name="Modeste", role="moderator")
    await ModeratorAssignment.insert(ModeratorAssignment(user=moderator.id, neighbourhood=neighbourhood.id))
    return moderator


async def test_moderator_hides_a_post_with_a_reason_shown_to_its_author_and_in_the_public_log(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await _moderator_of(neighbourhood)
    post_id = await make_post(claire, title="Vends des faux billets")
    mod = await signed_in(make_client, moderator)
    page = await mod.get(f"/posts/{post_id}")
    assert "Masquer l&#39;annonce" in page.text or "Masquer l'annonce" in page.text
    empty = await post_form(mod, f"/moderation/posts/{post_id}/hide", {"reason": ""})
    assert empty.status_code == 422 and "obligatoire" in field_error(empty.text, "reason")
    done = await post_form(mod, f"/moderation/posts/{post_id}/hide", {"reason": "Arnaque"})
    assert done.status_code == 303

    paul_client = await signed_in(make_client, paul)
    assert "Vends des faux billets" not in (await paul_client.get("/feed")).text
    claire_client = await signed_in(make_client, claire)
    assert "Arnaque" in (await claire_client.get(f"/posts/{post_id}")).text
    told = await notifications_of(claire, "moderation")
    assert len(told) == 1 and "Arnaque" in told[0]["text"]
    log = await paul_client.get("/moderation/public")
    assert "Annonce masquée" in log.text and "Arnaque" in log.text and "Modeste" not in log.text
    audit = await ModerationAction.select().where(
        (ModerationAction.target_type == "post") & (ModerationAction.target_id == post_id)
    )
    assert [(a["action"], a["moderator"]) for a in audit] == [("hide", moderator.id)]

    await post_form(mod, f"/moderation/posts/{post_id}/restore")
    assert "Vends des faux billets" in (await paul_client.get("/feed")).text


async def test_pin_and_lock_from_the_post_page(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await _moderator_of(neighbourhood)
    post_id = await make_post(claire, title="Règles du quartier", kind="discussion")
    mod = await signed_in(make_client, moderator)
    await post_form(mod, f"/moderation/posts/{post_id}/pin")
    await post_form(mod, f"/moderation/posts/{post_id}/lock")
    row = await Post.select(Post.pinned, Post.locked).where(Post.id == post_id).first()
    assert row["pinned"] and row["locked"]
    paul_client = await signed_in(make_client, paul)
    refused = await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Et moi ?"})
    assert refused.status_code == 422


@pytest.mark.parametrize("action", ["hide", "restore", "pin", "unpin", "lock", "unlock"])
@pytest.mark.parametrize("who", ["moderator elsewhere", "member", "anonymous"])
async def test_moderation_stops_at_the_quartier_border(make_client, action, who):
    neighbourhood, (claire,) = await neighbours(1)
    other, _ = await neighbours(1)
    post_id = await make_post(claire, title="Annonce ordinaire")
    people = {"moderator elsewhere": await _moderator_of(other), "member": await make_user(neighbourhood)}
    client = await signed_in(make_client, people[who]) if who in people else await make_client()
    response = await post_form(client, f"/moderation/posts/{post_id}/{action}", {"reason": "Essai"})
    if who == "anonymous":
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    else:
        assert response.status_code == 404
    assert (
        await ModerationAction.count().where(
            (ModerationAction.target_type == "post") & (ModerationAction.target_id == post_id)
        )
        == 0
    )
    row = await Post.select(Post.status, Post.pinned, Post.locked).where(Post.id == post_id).first()
    assert (row["status"], row["pinned"], row["locked"]) == ("open", False, False)
    # Nor do moderators see the controls outside their quartier.
    if who == "member":
        assert "Masquer" not in (await client.get(f"/posts/{post_id}")).text
