"""Photo bytes in the database, keyed by their SHA-256: every app process on
every host serves the same photos, backups hold them, erasure removes them.

An image is stored once however many photos show it, and goes with the last
photo that showed it, in the transaction that deleted that photo. On
PostgreSQL a post saved with the same bytes while another post's deletion
lets them go must not lose them: saving locks an existing row (the upsert),
letting go locks it too before looking for photos that still show it, so
one waits for the other and the second sees what the first did. (SQLite has
one writer at a time: nothing to lock.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from piccolo.columns.combination import Where

from app.posts.tables import Photo, PhotoBlob

if TYPE_CHECKING:
    from app.posts.photos import EncodedPhoto, WebP


def _placeholders(values: list) -> str:
    return ", ".join("{}" for _ in values)


async def save(photos: Iterable[EncodedPhoto]) -> None:
    """In the transaction that saves the photos' rows."""
    await save_images(image for photo in photos for image in (photo.large, photo.thumb, photo.small))


async def save_images(images: Iterable[WebP]) -> None:
    """In the transaction that saves the rows showing them (a profile photo's too)."""
    unique = {image.hash: image for image in images}
    now = datetime.now(timezone.utc)
    # Sorted, as let_go() locks them: two transactions never wait on each other in a circle.
    for _digest, image in sorted(unique.items()):
        # DO UPDATE, not DO NOTHING: it locks the existing row (see above).
        await PhotoBlob.raw(
            "INSERT INTO photo_blob (hash, data, created_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (hash) DO UPDATE SET hash = excluded.hash",
            image.hash,
            image.data,
            now,
        )


async def shown_by(photos: Where) -> list[str]:
    """The images these photos show (`Photo.post == 12`)."""
    found = await Photo.select(Photo.large, Photo.thumb, Photo.small).where(photos)
    return sorted({digest for row in found for digest in (row["large"], row["thumb"], row["small"]) if digest})


async def shown_by_profile(user_id: int) -> list[str]:
    """The images of a neighbour's profile photo (app.neighbours.profile_photos)."""
    found = await PhotoBlob.raw('SELECT large, small FROM profile_photo WHERE "user" = {}', user_id)
    return sorted({digest for row in found for digest in (row["large"], row["small"])})


async def let_go(hashes: list[str]) -> None:
    """After their photos' rows are deleted, in the same transaction: the
    images no photo (of a post or a profile) shows any more go."""
    if not hashes:
        return
    if PhotoBlob._meta.db.engine_type == "postgres":
        # Sorted, as save() locks them.
        await PhotoBlob.raw(
            f"SELECT hash FROM photo_blob WHERE hash IN ({_placeholders(hashes)}) ORDER BY hash FOR UPDATE",
            *hashes,
        )
    await PhotoBlob.raw(
        f"DELETE FROM photo_blob WHERE hash IN ({_placeholders(hashes)}) "
        "AND NOT EXISTS (SELECT 1 FROM photo WHERE photo.large = photo_blob.hash) "
        "AND NOT EXISTS (SELECT 1 FROM photo WHERE photo.thumb = photo_blob.hash) "
        "AND NOT EXISTS (SELECT 1 FROM photo WHERE photo.small = photo_blob.hash) "
        # Profile photos (app.neighbours.profile_photos) keep theirs too.
        "AND NOT EXISTS (SELECT 1 FROM profile_photo WHERE profile_photo.large = photo_blob.hash) "
        "AND NOT EXISTS (SELECT 1 FROM profile_photo WHERE profile_photo.small = photo_blob.hash)",
        *hashes,
    )


async def data_of(digest: str) -> bytes | None:
    found = await PhotoBlob.select(PhotoBlob.data).where(PhotoBlob.hash == digest).first()
    return bytes(found["data"]) if found else None
