"""Item 7 of issue 18: newcomers are welcomed on the feed, and a neighbour
may show a square profile photo (initials otherwise)."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import datetime, timedelta, timezone

from PIL import Image

from app.accounts.tables import Block, User
from app.neighbourhoods import newcomers
from app.neighbours.tables import ProfilePhoto
from app.posts.tables import PhotoBlob
from tests.factories import ensure_csrf, field_error, make_user, post_form
from tests.factories_posts import neighbours, signed_in, unique_jpeg


def _text(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


async def _arrived(user, days: float) -> None:
    await User.update({User.neighbourhood_joined_at: datetime.now(timezone.utc) - timedelta(days=days)}).where(
        User.id == user.id
    )
    # Days pass in a moment here: the few seconds a process keeps the arrivals too.
    newcomers.forget(user.neighbourhood)


def _newcomers_block(page) -> str:
    match = re.search(r'<details class="newcomers".*?</details>', page.text, re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))) if match else ""


async def test_a_newcomer_is_welcomed_by_neighbours_for_two_weeks(make_client):
    """Claire lives here for a year; Paul arrived three days ago, Hugo a
    month ago. Claire sees Paul among the new neighbours, not Hugo; Paul does
    not see himself; Yasmine, of another quartier, sees nobody of here."""
    hood, (claire, paul, hugo) = await neighbours(3)
    _other, (yasmine,) = await neighbours(1)
    await _arrived(claire, 365)
    await _arrived(paul, 3.2)
    await _arrived(hugo, 30)
    await _arrived(yasmine, 400)

    claire_client = await signed_in(make_client, claire)
    block = _newcomers_block(await claire_client.get("/feed"))
    assert "Nouveaux voisins" in block
    assert "Paul V." in block and "depuis 3 jours" in block
    assert "Hugo" not in block and "Claire" not in block
    assert f'href="/messages/new?to={paul.id}&amp;welcome=1"' in (await claire_client.get("/feed")).text

    paul_page = await (await signed_in(make_client, paul)).get("/feed")
    assert "Paul V." not in _newcomers_block(paul_page)
    assert _newcomers_block(await (await signed_in(make_client, yasmine)).get("/feed")) == ""

    # Two weeks on, Paul is one of the neighbours like the others.
    await _arrived(paul, 15)
    assert _newcomers_block(await claire_client.get("/feed")) == ""


async def test_newcomers_hidden_across_a_block_both_ways(make_client):
    hood, (claire, paul, yasmine) = await neighbours(3)
    await _arrived(claire, 100)
    await Block.insert(Block(blocker=paul.id, blocked=claire.id))
    block = _newcomers_block(await (await signed_in(make_client, claire)).get("/feed"))
    assert "Paul" not in block and "Yasmine V." in block
    # And Paul, who blocked Claire, does not meet her as a newcomer either.
    await _arrived(claire, 1)
    assert "Claire" not in _newcomers_block(await (await signed_in(make_client, paul)).get("/feed"))


async def test_the_block_shows_six_and_counts_the_others(make_client):
    hood, people = await neighbours(11)
    old = people[0]
    await _arrived(old, 200)
    page = await (await signed_in(make_client, old)).get("/feed")
    block = _newcomers_block(page)
    assert block.count("Souhaiter la bienvenue") == 6
    assert "et 4 autres" in block


async def test_the_welcome_button_opens_a_message_written_ahead_and_editable(make_client):
    hood, (claire, paul) = await neighbours(2)
    await _arrived(claire, 100)
    client = await signed_in(make_client, claire)
    form = await client.get(f"/messages/new?to={paul.id}&welcome=1")
    assert form.status_code == 200
    assert "Bonjour Paul, bienvenue dans le quartier !" in html.unescape(form.text)
    sent = await post_form(client, "/messages", {"to": str(paul.id), "post": "", "body": "Bienvenue Paul !"})
    assert sent.status_code == 303
    conversation = await (await signed_in(make_client, paul)).get(sent.headers["location"])
    assert "Bienvenue Paul !" in conversation.text
    english = await make_user(hood, first_name="Sam", locale="en")
    english_client = await signed_in(make_client, english)
    form = await english_client.get(f"/messages/new?to={paul.id}&welcome=1")
    assert "Hello Paul, welcome to the neighbourhood!" in html.unescape(form.text)


async def _upload(client, data: bytes, filename: str = "moi.jpg", content_type: str = "image/jpeg", headers=None):
    token = await ensure_csrf(client)
    return await client.post(
        "/settings/profile/photo",
        data={"_csrf_token": token},
        files={"photo": (filename, data, content_type)},
        headers=headers or {},
    )


def _photo_url(page_text: str) -> str | None:
    match = re.search(r'src="(/profile-photos/[^/"]+)/large"', page_text)
    return match.group(1) if match else None


async def test_a_profile_photo_is_added_replaced_and_removed(make_client):
    hood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, claire)
    profile = await client.get(f"/users/{claire.id}")
    assert _photo_url(profile.text) is None and 'class="avatar avatar-large avatar-initials' in profile.text
    assert ">CV<" in profile.text.replace(" ", "")

    done = await _upload(client, unique_jpeg(900, 500))
    assert done.status_code == 303 and done.headers["location"] == "/settings/profile?notice=photo_saved"
    assert "Votre photo est enregistrée." in (await client.get(done.headers["location"])).text
    first = _photo_url((await client.get(f"/users/{claire.id}")).text)
    assert first is not None
    # Paul, her neighbour, sees it: a square, centred, small enough for a list.
    paul_client = await signed_in(make_client, paul)
    assert first in (await paul_client.get(f"/users/{claire.id}")).text
    for size, side in (("large", 256), ("small", 96)):
        image = await paul_client.get(f"{first}/{size}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
        assert image.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(image.content)).size == (side, side)
        again = await paul_client.get(f"{first}/{size}", headers={"If-None-Match": image.headers["etag"]})
        assert again.status_code == 304
    first_images = (
        await ProfilePhoto.select(ProfilePhoto.large, ProfilePhoto.small).where(ProfilePhoto.user == claire.id).first()
    )

    # A new photo replaces it under a new address; the old images go.
    await _upload(client, unique_jpeg(400, 700))
    second = _photo_url((await client.get(f"/users/{claire.id}")).text)
    assert second not in (None, first)
    assert (await paul_client.get(f"{first}/large")).status_code == 404
    assert not await PhotoBlob.exists().where(PhotoBlob.hash.is_in(list(first_images.values())))

    removed = await post_form(client, "/settings/profile/photo/delete")
    assert removed.status_code == 303
    assert _photo_url((await client.get(f"/users/{claire.id}")).text) is None
    assert (await paul_client.get(f"{second}/large")).status_code == 404
    assert not await ProfilePhoto.exists().where(ProfilePhoto.user == claire.id)


async def test_a_photo_shows_in_the_newcomers_block(make_client):
    hood, (claire, paul) = await neighbours(2)
    await _arrived(claire, 100)
    await _upload(await signed_in(make_client, paul), unique_jpeg(300, 300))
    feed = await (await signed_in(make_client, claire)).get("/feed")
    assert re.search(r'<details class="newcomers".*?src="/profile-photos/[^"]+/small"', feed.text, re.S)


async def test_a_file_that_is_no_photo_is_refused_at_the_field(make_client):
    hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    refused = await _upload(client, b"%PDF-1.4 pas une photo", "facture.pdf", "application/pdf")
    assert refused.status_code == 422
    assert field_error(refused.text, "photo") == (
        "« facture.pdf » n'est pas une photo (formats acceptés : JPEG, PNG, WebP, HEIC)."
    )
    # The rest of the profile form is still there, as it was.
    assert 'name="bio"' in refused.text
    token = await ensure_csrf(client)
    empty = await client.post(
        "/settings/profile/photo", data={"_csrf_token": token}, files={"photo": ("", b"", "application/octet-stream")}
    )
    assert empty.status_code == 422 and field_error(empty.text, "photo") == "Choisissez une photo."
    assert not await ProfilePhoto.exists().where(ProfilePhoto.user == claire.id)


async def test_with_htmx_the_photo_part_is_swapped_in_place(make_client):
    hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    htmx = {"HX-Request": "true"}
    done = await _upload(client, unique_jpeg(), headers=htmx)
    assert done.status_code == 200 and done.text.lstrip().startswith('<section id="profile-photo"')
    assert "/profile-photos/" in done.text and "Retirer la photo" in done.text
    refused = await _upload(client, b"rien", "x.txt", "text/plain", headers=htmx)
    assert refused.status_code == 422 and refused.text.lstrip().startswith('<section id="profile-photo"')
    assert "n'est pas une photo" in html.unescape(refused.text)
    removed = await post_form(client, "/settings/profile/photo/delete", headers=htmx)
    assert removed.status_code == 200 and "/profile-photos/" not in removed.text


async def test_export_holds_the_photo_and_erasure_removes_it(make_client):
    hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    await _upload(client, unique_jpeg())
    images = (
        await ProfilePhoto.select(ProfilePhoto.name, ProfilePhoto.large, ProfilePhoto.small)
        .where(ProfilePhoto.user == claire.id)
        .first()
    )
    archive = zipfile.ZipFile(io.BytesIO((await client.get("/settings/export")).content))
    assert f"profile/{images['name']}.webp" in archive.namelist()
    assert Image.open(io.BytesIO(archive.read(f"profile/{images['name']}.webp"))).size == (256, 256)

    from app.privacy.queries import erase_account

    await erase_account(claire.id)
    assert not await ProfilePhoto.exists().where(ProfilePhoto.user == claire.id)
    assert not await PhotoBlob.exists().where(PhotoBlob.hash.is_in([images["large"], images["small"]]))


async def test_a_moderator_removes_a_photo_that_has_no_place_here_and_the_log_says_so(make_client):
    from app.moderation.tables import ModerationAction
    from tests.factories import make_moderator

    hood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(hood)
    await _upload(await signed_in(make_client, paul), unique_jpeg())
    images = (
        await ProfilePhoto.select(ProfilePhoto.large, ProfilePhoto.small).where(ProfilePhoto.user == paul.id).first()
    )
    # Claire, a neighbour, has no such button and no such power.
    claire_client = await signed_in(make_client, claire)
    assert "Retirer sa photo de profil" not in (await claire_client.get(f"/users/{paul.id}")).text
    refused = await post_form(claire_client, f"/moderation/users/{paul.id}/photo/delete")
    assert refused.status_code == 404
    assert await ProfilePhoto.exists().where(ProfilePhoto.user == paul.id)

    mod_client = await signed_in(make_client, moderator)
    assert "Retirer sa photo de profil" in (await mod_client.get(f"/users/{paul.id}")).text
    done = await post_form(mod_client, f"/moderation/users/{paul.id}/photo/delete")
    assert done.status_code == 303
    assert "La photo de profil est retirée." in (await mod_client.get(done.headers["location"])).text
    assert not await ProfilePhoto.exists().where(ProfilePhoto.user == paul.id)
    assert not await PhotoBlob.exists().where(PhotoBlob.hash.is_in(list(images.values())))
    logged = await ModerationAction.select().where(ModerationAction.target_user == paul.id).first()
    assert logged["action"] == "remove_photo" and logged["moderator"] == moderator.id


async def test_a_reply_shows_its_authors_face(make_client):
    from tests.factories_posts import make_post

    hood, (claire, paul, yasmine) = await neighbours(3)
    post_id = await make_post(claire)
    paul_client = await signed_in(make_client, paul)
    await _upload(paul_client, unique_jpeg())
    photo = (await ProfilePhoto.select(ProfilePhoto.name).where(ProfilePhoto.user == paul.id).first())["name"]
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je la prends volontiers !"})
    await post_form(await signed_in(make_client, yasmine), f"/posts/{post_id}/replies", {"body": "Moi aussi."})
    page = (await (await signed_in(make_client, claire)).get(f"/posts/{post_id}")).text
    replies = re.findall(r'<li class="reply".*?</li>', page, re.S)
    assert len(replies) == 2
    assert f'src="/profile-photos/{photo}/small"' in replies[0]
    assert "avatar-initials" in replies[1] and ">Y<" in re.sub(r"\s+", "", replies[1])
