"""Posts, replies and photos, made the way neighbours make them."""

from __future__ import annotations

import io
import os

from PIL import Image

from app.posts import queries


async def make_post(
    author,
    *,
    kind: str = "give",
    title: str = "Perceuse à donner",
    body: str = "Elle marche très bien.",
    details: dict | None = None,
) -> int:
    return await queries.create_post(author=author, kind=kind, title=title, body=body, details=details or {}, photos=[])


def jpeg_bytes(width: int = 2400, height: int = 1600, *, gps: bool = False) -> bytes:
    """A phone-like JPEG, optionally carrying a GPS position in its EXIF."""
    image = Image.new("RGB", (width, height), (40, 120, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: (47.0, 19.0, 0.0), 3: "E", 4: (5.0, 2.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85)
    return out.getvalue()


def unique_jpeg(width: int = 800, height: int = 600) -> bytes:
    """A photo no other test sends: the image stored for it is its own."""
    out = io.BytesIO()
    Image.frombytes("RGB", (16, 12), os.urandom(16 * 12 * 3)).resize((width, height)).save(out, "JPEG", quality=85)
    return out.getvalue()


def png_bytes(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 10, 10, 255)).save(out, "PNG")
    return out.getvalue()


async def neighbours(n: int = 2, **kwargs):
    """A fresh quartier and n neighbours living in it."""
    from tests.factories import make_neighbourhood, make_user

    neighbourhood = await make_neighbourhood(**kwargs)
    names = ["Claire", "Paul", "Yasmine", "Hugo", "Léa", "Karim"]
    people = [
        await make_user(neighbourhood, first_name=names[i % len(names)], last_name=f"Voisin{i}") for i in range(n)
    ]
    return neighbourhood, people


async def signed_in(make_client, user):
    from tests.factories import login

    client = await make_client()
    await login(client, user)
    return client


async def publish(client, data: dict, files=None):
    """Posts the new-annonce form as the browser does (multipart)."""
    from tests.factories import ensure_csrf

    token = await ensure_csrf(client)
    return await client.post(
        "/posts", data={**data, "_csrf_token": token}, files=files or {"photos": ("", b"", "application/octet-stream")}
    )


async def encoded_photo(data: bytes, filename: str = "photo.jpg"):
    """A photo encoded as the upload form would (the pipeline reads spooled files), ready for create_post()."""
    from tempfile import SpooledTemporaryFile

    from app.posts.photos import encode
    from app.uploads import UploadedFile

    spool = SpooledTemporaryFile()  # noqa: SIM115 - the UploadedFile made of it closes it
    spool.write(data)
    try:
        return await encode(UploadedFile(filename=filename, file=spool, size=len(data)))
    finally:
        spool.close()
