"""Photos from phones: checked before decoding, re-encoded, stripped, renamed.

Nothing the user sent is stored as sent: every accepted photo is decoded and
written anew as WebP without any metadata block (no GPS, no camera serial),
under a random name. A file that Pillow cannot read as one of the accepted
formats (SVG, HTML, a GIF polyglot, a truncated JPEG) is refused, and a
decompression bomb is refused from its header, before any pixel is decoded.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.i18n import _
from app.uploads import UploadedFile

try:  # HEIC is what iPhones send; the plugin is a dependency, but a missing
    # system library should only cost HEIC, not the whole app.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover
    pass

MAX_BYTES = 15 * 1024 * 1024
MAX_PHOTOS = 4
# A 48-megapixel phone photo is ~8000×6000; anything far above is an attack.
MAX_PIXELS = 60_000_000
LARGE = 1280
THUMB = 480
ACCEPTED = {"JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoRefused(ValueError):
    """The French message says why, for the field next to which it shows."""


@dataclass(frozen=True)
class StoredPhoto:
    name: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def photo_dir(uploads: Path) -> Path:
    return uploads / "photos"


def path_for(uploads: Path, name: str, size: str) -> Path:
    return photo_dir(uploads) / (f"{name}.webp" if size == "large" else f"{name}_t.webp")


def _process(data: bytes, filename: str, uploads: Path) -> StoredPhoto:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
    except Image.DecompressionBombError:
        raise PhotoRefused(_("« %(name)s » est une image beaucoup trop grande.", name=filename)) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoRefused(_("« %(name)s » n'est pas une photo (formats acceptés : JPEG, PNG, WebP, HEIC).", name=filename)) from None
    if fmt not in ACCEPTED:
        raise PhotoRefused(_("« %(name)s » n'est pas une photo (formats acceptés : JPEG, PNG, WebP, HEIC).", name=filename))
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise PhotoRefused(_("« %(name)s » est une image beaucoup trop grande.", name=filename))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        raise PhotoRefused(_("« %(name)s » est incomplète ou abîmée. Essayez une autre photo.", name=filename)) from None

    name = secrets.token_urlsafe(18)
    folder = photo_dir(uploads)
    folder.mkdir(parents=True, exist_ok=True)
    large = image.copy()
    large.thumbnail((LARGE, LARGE), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    # A fresh image has no info dict worth keeping; saving without exif/icc/xmp
    # arguments writes pixels only.
    large.save(path_for(uploads, name, "large"), "WEBP", quality=80, method=4)
    thumb.save(path_for(uploads, name, "thumb"), "WEBP", quality=75, method=4)
    return StoredPhoto(name, large.width, large.height, thumb.width, thumb.height)


async def store(upload: UploadedFile, uploads: Path) -> StoredPhoto:
    if upload.over_cap:
        raise PhotoRefused(_("« %(name)s » dépasse 15 Mo.", name=upload.filename))
    upload.file.seek(0)
    # Decoding a phone photo takes tens of milliseconds: not on the event loop.
    return await asyncio.to_thread(_process, upload.file.read(), upload.filename, uploads)


def delete_files(uploads: Path, names: list[str]) -> None:
    for name in names:
        for size in ("large", "thumb"):
            path_for(uploads, name, size).unlink(missing_ok=True)
