"""The right of access: a neighbour downloads everything they gave and did."""

from __future__ import annotations

import io
import json
import zipfile

from tests.factories import post_form
from tests.factories_posts import jpeg_bytes, neighbours, publish, signed_in


async def test_export_holds_my_data_and_none_of_anyone_elses_private_data(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, claire)
    done = await publish(
        client,
        {"kind": "give", "title": "Lampe de bureau", "body": "Ampoule fournie"},
        files=[("photos", ("lampe.jpg", jpeg_bytes(800, 600), "image/jpeg"))],
    )
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    await post_form(client, f"/posts/{post_id}/replies", {"body": "Toujours disponible."})
    await post_form(client, "/messages", {"to": str(paul.id), "body": "Bonjour Paul, voici ma question."})
    paul_client = await signed_in(make_client, paul)
    conversations = await paul_client.get("/messages")
    conversation = conversations.text.split('href="/messages/')[1].split('"')[0]
    await post_form(paul_client, f"/messages/{conversation}", {"body": "Réponse privée de Paul."})

    response = await client.get("/settings/export")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"] and "no-store" in response.headers["cache-control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("voisinage.json"))
    assert data["profile"]["email"] == claire.email and data["profile"]["address_label"] == claire.address_label
    assert "password_hash" not in data["profile"]
    assert [p["title"] for p in data["posts"]] == ["Lampe de bureau"]
    assert [r["body"] for r in data["replies"]] == ["Toujours disponible."]
    assert [m["body"] for m in data["messages_sent"]] == ["Bonjour Paul, voici ma question."]
    assert "Réponse privée de Paul." not in archive.read("voisinage.json").decode()
    # The photo as neighbours see it, from the database.
    [photo] = data["photos"]
    shown = await client.get(f"/photos/{photo['name']}/large")
    assert archive.read(f"photos/{photo['name']}.webp") == shown.content


async def test_export_needs_to_be_signed_in(make_client):
    anonymous = await make_client()
    response = await anonymous.get("/settings/export")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def _everything_in_the_database(engine) -> str:
    """Every text-like value of every table, as one string to search."""
    if engine.engine_type == "sqlite":
        tables = [
            r["name"]
            for r in await engine._run(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'post_fts_%'",
                None,
            )
        ]
        chunks = []
        for table in tables:
            for row in await engine._run(f'SELECT * FROM "{table}"', None):
                chunks.extend(str(v) for v in row.values())
        return "\n".join(chunks)
    from app.accounts.tables import User

    tables = [
        r["table_name"]
        for r in await User.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    ]
    chunks = []
    for table in tables:
        for row in await User.raw(f'SELECT * FROM "{table}"'):
            chunks.extend(str(v) for v in row.values())
    return "\n".join(chunks)


async def test_after_erasure_nothing_of_the_neighbour_remains_but_threads_still_read(make_client, database):
    from app.events.tables import Event
    from app.posts.tables import PhotoBlob, Post
    from tests.factories import field_error, make_user
    from tests.factories_events import make_event
    from tests.factories_posts import unique_jpeg

    neighbourhood, (paul,) = await neighbours(1)
    from app.accounts.queries import user_by_id
    from app.accounts.tables import User

    odile = await make_user(neighbourhood, first_name="Odile", last_name="Zygomatique", email="odile.zygo@exemple.fr")
    await User.update({User.address_label: "7 impasse des Zygènes, 99000 Testville"}).where(User.id == odile.id)
    odile = await user_by_id(odile.id)
    client = await signed_in(make_client, odile)
    done = await publish(
        client,
        {"kind": "give", "title": "Vélo à donner", "body": "Selle neuve"},
        files=[("photos", ("velo.jpg", unique_jpeg(), "image/jpeg"))],
    )
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    from app.posts.tables import Photo

    [photo] = await Photo.select(Photo.large, Photo.thumb).where(Photo.post == post_id)
    images = [photo["large"], photo["thumb"]]
    assert await PhotoBlob.count().where(PhotoBlob.hash.is_in(images)) == 2
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je le prends !"})
    await post_form(client, f"/posts/{post_id}/replies", {"body": "Passez ce soir, je suis Odile Zygomatique."})
    await post_form(client, "/messages", {"to": str(paul.id), "body": "Mon adresse exacte, entre nous."})
    event_id = await make_event(paul, capacity=1)
    await post_form(client, f"/posts/{event_id}/signup")
    yasmine = await make_user(neighbourhood, first_name="Yasmine")
    yasmine_client = await signed_in(make_client, yasmine)
    await post_form(yasmine_client, f"/posts/{event_id}/signup")

    wrong = await post_form(client, "/settings/delete", {"password": "pas le bon", "confirm": "1"})
    assert wrong.status_code == 422 and "incorrect" in field_error(wrong.text, "password")
    gone = await post_form(client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303 and "Clear-Site-Data" in gone.headers
    assert (await client.get("/feed")).status_code == 303

    # The thread still reads, signed by a deleted account.
    page = await paul_client.get(f"/posts/{post_id}")
    assert page.status_code == 200 and "Compte supprimé" in page.text and "Je le prends !" in page.text
    assert (await Post.select(Post.photo_count).where(Post.id == post_id).first())["photo_count"] == 0
    # Yasmine moved up from the waiting list when Odile's seat was given back.
    event = await Event.select().where(Event.post == event_id).first()
    assert (event["going_count"], event["waitlist_count"]) == (1, 0)

    everything = await _everything_in_the_database(database)
    for trace in ("odile.zygo@exemple.fr", "Zygomatique", odile.address_label, "Mon adresse exacte"):
        assert trace not in everything, trace
    assert await PhotoBlob.count().where(PhotoBlob.hash.is_in(images)) == 0
