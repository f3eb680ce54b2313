"""/photos/{name}/{size}: a post's photo, from the database, to whoever may see the post.

The URL names one photo of one post (a random name, never the content hash:
the same image in two quartiers is two URLs), and the image behind it never
changes, so the browser keeps it for a year without asking again. `private`:
no shared cache may keep it, since it would hand it to anyone with the URL,
after the post is hidden or its author erased too. Who asks is checked on
every request, a revalidation included; the bytes are read only when the
browser does not hold them already (`If-None-Match` → 304).
"""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from app.access import ensure_can_see_post, requires_member
from app.posts import blobs
from app.posts.tables import Photo

CACHE_CONTROL = "private, max-age=31536000, immutable"


def _already_held(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match", "")
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return etag in tags or "*" in tags


@get("/photos/{name:str}/{size:str}", guards=[requires_member])
async def photo(request: Request, name: str, size: str) -> Response:
    if size not in ("large", "thumb", "small"):
        raise NotFoundException()
    found = (
        await Photo.select(
            Photo.post.neighbourhood.as_alias("neighbourhood"),
            Photo.post.status.as_alias("status"),
            Photo.post.author.as_alias("author"),
            Photo.post.nearby.as_alias("nearby"),
            Photo.post.group.as_alias("group"),
            Photo.large,
            Photo.thumb,
            Photo.small,
        )
        .where(Photo.name == name)
        .first()
    )
    # Exactly who may see the post: the same check as its page.
    await ensure_can_see_post(request.user, found)
    # A photo saved before small images were made shows its thumbnail instead.
    digest = found[size] or (found["thumb"] if size == "small" else None)
    if not digest:  # its file was lost before photos moved into the database
        raise NotFoundException()
    return await image_response(request, digest)


async def image_response(request: Request, digest: str) -> Response:
    """An image of photo_blob under its URL that never changes (a profile photo's too)."""
    etag = f'"{digest}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if _already_held(request, etag):
        return Response(content=b"", status_code=304, headers=headers)
    data = await blobs.data_of(digest)
    if data is None:
        raise NotFoundException()
    return Response(content=data, media_type="image/webp", headers=headers)
