from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.posts.tables import PhotoBlob


class ProfilePhoto(Table, tablename="profile_photo"):
    """A neighbour's own square photo, at most one: its images live in
    photo_blob like a post's (app.posts.blobs lets them go with the last row
    that shows them)."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    # Random, made anew at each upload: the URL of an image that never changes.
    name = Varchar(length=80, unique=True)
    large = ForeignKey(references=PhotoBlob, on_delete=OnDelete.restrict, index=True)
    small = ForeignKey(references=PhotoBlob, on_delete=OnDelete.restrict, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
