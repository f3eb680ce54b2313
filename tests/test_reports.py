"""Reports: neighbours flag a post, moderators of its quartier handle the queue."""

from __future__ import annotations

from app.accounts.tables import ModeratorAssignment
from app.moderation.tables import Report
from app.posts.tables import Post
from tests.factories import field_error, make_user, post_form
from tests.factories_posts import make_post, neighbours, signed_in


async def test_report_reaches_the_quartier_moderator_and_is_resolved(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    other, _ = await neighbours(1)
    moderator = await make_user(neighbourhood, first_name="Modeste", role="moderator")
    await ModeratorAssignment.insert(ModeratorAssignment(user=moderator.id, neighbourhood=neighbourhood.id))
    elsewhere = await make_user(other, first_name="Lointain", role="moderator")
    await ModeratorAssignment.insert(ModeratorAssignment(user=elsewhere.id, neighbourhood=other.id))
    post_id = await make_post(claire, title="Vends iPhone à 10 €")

    paul_client = await signed_in(make_client, paul)
    assert (await paul_client.get(f"/posts/{post_id}/report")).status_code == 200
    bad = await post_form(paul_client, f"/posts/{post_id}/report", {"reason": "other", "text": ""})
    assert bad.status_code == 422 and "obligatoire" in field_error(bad.text, "text")
    done = await post_form(
        paul_client, f"/posts/{post_id}/report", {"reason": "scam", "text": "Trop beau pour être vrai"}
    )
    assert done.status_code == 303

    mod = await signed_in(make_client, moderator)
    queue = await mod.get("/moderation")
    assert "Vends iPhone à 10 €" in queue.text and "Arnaque" in queue.text and "Trop beau" in queue.text
    assert "Paul" not in queue.text  # the reporter stays anonymous
    far = await signed_in(make_client, elsewhere)
    assert "Vends iPhone" not in (await far.get("/moderation")).text
    report_id = (await Report.select(Report.id).where(Report.target_id == post_id).first())["id"]
    assert (await post_form(far, f"/moderation/reports/{report_id}/resolved")).status_code == 404
    assert (await (await signed_in(make_client, claire)).get("/moderation")).status_code == 404

    closed = await post_form(mod, f"/moderation/reports/{report_id}/resolved", {"note": "Annonce masquée"})
    assert closed.status_code == 303
    row = await Report.select().where(Report.id == report_id).first()
    assert (row["status"], row["resolved_by"], row["resolution_note"]) == ("resolved", moderator.id, "Annonce masquée")
    assert row["resolved_at"] is not None
    assert "Vends iPhone" not in (await mod.get("/moderation")).text


async def test_three_verified_neighbours_hide_a_post_until_a_moderator_looks(make_client):
    neighbourhood, (claire,) = await neighbours(1)
    post_id = await make_post(claire, title="Propos injurieux")
    unverified = await make_user(neighbourhood)
    client = await signed_in(make_client, unverified)
    await post_form(client, f"/posts/{post_id}/report", {"reason": "hate"})
    for i in range(3):
        status = (await Post.select(Post.status).where(Post.id == post_id).first())["status"]
        assert status == "open"
        reporter = await make_user(neighbourhood, first_name=f"Verif{i}", verified=True)
        reporter_client = await signed_in(make_client, reporter)
        await post_form(reporter_client, f"/posts/{post_id}/report", {"reason": "hate"})
        # Reporting twice counts once.
        await post_form(reporter_client, f"/posts/{post_id}/report", {"reason": "hate"})
    assert (await Post.select(Post.status).where(Post.id == post_id).first())["status"] == "hidden"
    assert await Report.count().where(Report.target_id == post_id) == 4
