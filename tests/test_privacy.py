"""The right of access: a neighbour downloads everything they gave and did."""

from __future__ import annotations

import io
import json
import zipfile

from tests.factories import post_form
from tests.factories_posts import jpeg_bytes, neighbours, publish, signed_in


async def test_export_holds_my_data_and_none_of_anyone_elses_private_data(make_client):
    _hood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, claire)
    done = await publish(client, {"kind": "give", "title": "Lampe de bureau", "body": "Ampoule fournie"},
                         files=[("photos", ("lampe.jpg", jpeg_bytes(800, 600), "image/jpeg"))])
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
    assert any(n.startswith("photos/") and n.endswith(".webp") for n in archive.namelist())


async def test_export_needs_to_be_signed_in(make_client):
    anonymous = await make_client()
    response = await anonymous.get("/settings/export")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
