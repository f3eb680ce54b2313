"""A neighbour's profile photo: one at most, square, through the photo
pipeline of posts (app.posts.photos encodes, app.posts.blobs stores the
images once and lets them go with the last row that shows them)."""

from __future__ import annotations

from datetime import datetime, timezone

from app.neighbourhoods import newcomers
from app.neighbours.tables import ProfilePhoto
from app.posts import blobs
from app.posts.photos import SquarePhoto


async def name_of(user_id: int) -> str | None:
    found = await ProfilePhoto.select(ProfilePhoto.name).where(ProfilePhoto.user == user_id).first()
    return found["name"] if found else None


async def by_name(name: str) -> dict | None:
    """Whose photo this is and where they live (who may see it is app.access's)."""
    return (
        await ProfilePhoto.select(
            ProfilePhoto.user.as_alias("id"),
            ProfilePhoto.user.neighbourhood.as_alias("neighbourhood"),
            ProfilePhoto.large,
            ProfilePhoto.small,
        )
        .where(ProfilePhoto.name == name)
        .first()
    )


async def replace(user_id: int, photo: SquarePhoto) -> None:
    """The new photo, under a new name (browsers keep the old one's URL for a year)."""
    async with ProfilePhoto._meta.db.transaction():
        before = await blobs.shown_by_profile(user_id)
        await blobs.save_images((photo.large, photo.small))
        # One upsert: two uploads at once leave one photo, never a conflict.
        await ProfilePhoto.raw(
            'INSERT INTO profile_photo ("user", name, large, small, created_at) VALUES ({}, {}, {}, {}, {}) '
            'ON CONFLICT ("user") DO UPDATE SET name = excluded.name, large = excluded.large, '
            "small = excluded.small, created_at = excluded.created_at",
            user_id,
            photo.name,
            photo.large.hash,
            photo.small.hash,
            datetime.now(timezone.utc),
        )
        await blobs.let_go(before)
    # « Nouveaux voisins » shows the photo: whose quartier is not known here, and a photo changes rarely.
    newcomers.forget_all()


async def remove(user_id: int) -> None:
    """In the caller's transaction when there is one (erasure)."""
    async with ProfilePhoto._meta.db.transaction():
        before = await blobs.shown_by_profile(user_id)
        await ProfilePhoto.delete().where(ProfilePhoto.user == user_id)
        await blobs.let_go(before)
    newcomers.forget_all()
