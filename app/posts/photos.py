"""Photos from phones: checked before decoding, re-encoded, stripped, renamed.

Nothing the user sent is stored as sent: every accepted photo is decoded and
encoded anew as WebP without any metadata block (no GPS, no camera serial),
under a random name; the post that shows it stores the bytes
(`app.posts.blobs`). A file that Pillow cannot read as one of the accepted
formats (SVG, HTML, a GIF polyglot, a truncated JPEG) is refused.

Memory is spent on purpose, because a 150 KB PNG can declare 7000×7000
pixels, 147 MB once decoded: the size a photo declares is checked before any
pixel is decoded; a JPEG is decoded straight at a fraction of its size
(`draft`); the full-size pixels are let go as soon as the photo is shrunk;
decodes run in two threads of their own, off the event loop, and share a
memory budget, so that a big photo waits for the other decode to finish.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import io
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from babel.numbers import format_decimal
from PIL import Image, ImageOps, UnidentifiedImageError

from app.forms import Form
from app.i18n import _, current_locale
from app.uploads import UploadedFile

try:  # HEIC is what iPhones send; the plugin is a dependency, but a missing
    # system library should only cost HEIC, not the whole app.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover
    pass

MAX_BYTES = 15 * 1024 * 1024
MAX_PHOTOS = 4
LARGE = 1280
THUMB = 480
# The feed shows its thumbnails 6.5rem wide: sharp on a screen of twice that density.
SMALL = 240
# A profile photo: the profile's, and the lists' at twice their 48 px.
SQUARE = 256
SQUARE_SMALL = 96
ACCEPTED = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF")
# Only these readers are tried on an upload (an MPO is read by the JPEG one).
Image.init()
_READERS = tuple(f for f in ACCEPTED if f in Image.OPEN)

# Pixels decoded for one photo: a 24-megapixel iPhone HEIC (5712×4284) fits.
MAX_PIXELS = 25_000_000
# A JPEG is decoded at 1/2, 1/4 or 1/8 of its size, so a 48-megapixel phone
# photo costs 12 megapixels to decode: only its declared size needs a bound.
MAX_JPEG_PIXELS = 64_000_000
# What all decodes together may hold at once.
DECODE_BUDGET = 256 * 1024 * 1024
# Bytes held at the peak of a decode, per decoded pixel (measured with
# Pillow 13 and pillow-heif 1.8, rounded up): the decoded image, its RGB copy
# when it has another mode, the shrunk one. libwebp decodes into a canvas of
# its own that Pillow then copies. A progressive JPEG also keeps the
# coefficients of every declared pixel (2 bytes a sample) until the end.
_BYTES_PER_PIXEL = {"WEBP": 16}
_DEFAULT_BYTES_PER_PIXEL = 9
_PROGRESSIVE_BYTES_PER_PIXEL = 6

# Pillow's own guard (refusing at twice this) is kept above every limit here.
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS
# Pillow allocates an image in blocks (16 MB by default). glibc serves blocks
# that size from per-thread arenas, which keep what is freed: four 24-megapixel
# PNGs left the server 235 MB bigger for good. Blocks of 64 MB are each mapped
# on their own (above glibc's 32 MB ceiling) and given back when freed (4 MB left).
Image.core.set_block_size(64 * 1024 * 1024)


def small_width(thumb_width: int, thumb_height: int) -> int:
    """The small image's width, from its thumbnail's size (the feed's `srcset`)."""
    longest = max(thumb_width, thumb_height)
    return thumb_width if longest <= SMALL else round(thumb_width * SMALL / longest)


class PhotoRefused(ValueError):
    """The French message says why, for the field next to which it shows."""


@dataclass(frozen=True)
class WebP:
    data: bytes
    # SHA-256 of the bytes, in hex: the same image is stored once.
    hash: str

    @classmethod
    def of(cls, image: Image.Image, quality: int) -> WebP:
        out = io.BytesIO()
        # A fresh image has no info dict worth keeping; saving without
        # exif/icc/xmp arguments writes pixels only.
        image.save(out, "WEBP", quality=quality, method=4)
        data = out.getvalue()
        return cls(data, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class EncodedPhoto:
    """A photo ready to be saved with its post: ~250 KB, a tenth of that for the thumbnail,
    a fortieth for the small one the feed shows."""

    name: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    large: WebP
    thumb: WebP
    small: WebP


class _MemoryBudget:
    """A decode waits until its share of the budget is free."""

    def __init__(self, total: int) -> None:
        self.total = self.free = total
        self.changed = threading.Condition()

    @contextmanager
    def share(self, cost: int) -> Iterator[None]:
        cost = min(cost, self.total)
        with self.changed:
            self.changed.wait_for(lambda: self.free >= cost)
            self.free -= cost
        try:
            yield
        finally:
            with self.changed:
                self.free += cost
                self.changed.notify_all()


# Two threads: on a small server the event loop keeps a core to itself.
_DECODES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo")
_BUDGET = _MemoryBudget(DECODE_BUDGET)


def _not_a_photo(filename: str) -> PhotoRefused:
    return PhotoRefused(
        _("« %(name)s » n'est pas une photo (formats acceptés : JPEG, PNG, WebP, HEIC).", name=filename)
    )


def _too_many_pixels(filename: str, pixels: int, limit: int) -> PhotoRefused:
    def megapixels(n: int) -> str:
        return format_decimal(n / 1_000_000, format="#,##0.#", locale=current_locale.get())

    return PhotoRefused(
        _(
            "Cette photo est trop grande : « %(name)s » compte %(n)s mégapixels, %(max)s au plus. "
            "Réduisez-la avant de l'envoyer.",
            name=filename,
            n=megapixels(pixels),
            max=megapixels(limit),
        )
    )


def _declared_limit(image: Image.Image) -> int:
    """How many pixels this photo may declare, in whole megapixels."""
    if image.format not in ("JPEG", "MPO"):
        per_pixel = _BYTES_PER_PIXEL.get(image.format, _DEFAULT_BYTES_PER_PIXEL)
    elif image.info.get("progressive"):
        # At worst decoded at full size, coefficients and pixels both held.
        per_pixel = _DEFAULT_BYTES_PER_PIXEL + _PROGRESSIVE_BYTES_PER_PIXEL
    else:
        return MAX_JPEG_PIXELS
    return min(MAX_PIXELS, DECODE_BUDGET // per_pixel // 1_000_000 * 1_000_000)


def _cost(image: Image.Image, declared: int) -> int:
    """Bytes that decoding and shrinking this photo holds at the peak."""
    cost = image.width * image.height * _BYTES_PER_PIXEL.get(image.format, _DEFAULT_BYTES_PER_PIXEL)
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        cost += declared * _PROGRESSIVE_BYTES_PER_PIXEL
    return cost


def _open(source: BinaryIO, filename: str) -> tuple[Image.Image, int]:
    """The photo with only its header read, set to decode at the smallest
    size that still gives a sharp 1280 px image, and what decoding it costs."""
    try:
        image = Image.open(source, formats=_READERS)
    except Image.DecompressionBombError:
        raise PhotoRefused(_("« %(name)s » est une image beaucoup trop grande.", name=filename)) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise _not_a_photo(filename) from None
    width, height = image.size
    declared, limit = width * height, _declared_limit(image)
    if declared > limit:
        image.close()
        raise _too_many_pixels(filename, declared, limit)
    if image.format in ("JPEG", "MPO"):
        # Twice the final size, as `thumbnail` would ask: sharp once resampled.
        longest = max(width, height)
        image.draft("RGB", (max(1, width * 2 * LARGE // longest), max(1, height * 2 * LARGE // longest)))
        if image.width * image.height > MAX_PIXELS:  # too little to gain from scaling down
            image.close()
            raise _too_many_pixels(filename, declared, MAX_PIXELS)
    return image, _cost(image, declared)


def _shrunk(image: Image.Image, filename: str) -> Image.Image:
    """The photo upright in RGB, long edge ≤ LARGE."""
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise PhotoRefused(
            _("« %(name)s » est incomplète ou abîmée. Essayez une autre photo.", name=filename)
        ) from None
    reduced = _reduced_rgb(image, max(1, max(image.size) // (2 * LARGE)))
    if reduced is not image:
        image.close()  # the full-size pixels go now, not when the request ends
    reduced.thumbnail((LARGE, LARGE), Image.Resampling.LANCZOS)
    ImageOps.exif_transpose(reduced, in_place=True)
    return reduced


def _reduced_rgb(image: Image.Image, factor: int) -> Image.Image:
    """RGB, `factor` times smaller, made band by band so that the only
    full-size buffer is the decoded one (converting or reducing a whole
    RGBA image would copy it at full size first)."""
    if image.mode == "RGB":
        return image if factor == 1 else image.reduce(factor)
    width, height = image.size
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, 256 // factor)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(top + rows, height))).convert("RGB")
        out.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    out.info = image.info  # the EXIF orientation, applied once shrunk
    return out


def _process(source: BinaryIO, filename: str) -> EncodedPhoto:
    image, cost = _open(source, filename)
    with _BUDGET.share(cost):
        large = _shrunk(image, filename)
    thumb = large.copy()
    thumb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    small = thumb.copy()
    small.thumbnail((SMALL, SMALL), Image.Resampling.LANCZOS)
    return EncodedPhoto(
        name=secrets.token_urlsafe(18),
        width=large.width,
        height=large.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        large=WebP.of(large, quality=80),
        thumb=WebP.of(thumb, quality=75),
        small=WebP.of(small, quality=75),
    )


@dataclass(frozen=True)
class SquarePhoto:
    """A neighbour's profile photo: the centre of the picture, square, at the
    profile's size and at the lists' size."""

    name: str
    large: WebP
    small: WebP


def _process_square(source: BinaryIO, filename: str) -> SquarePhoto:
    image, cost = _open(source, filename)
    with _BUDGET.share(cost):
        shrunk = _shrunk(image, filename)
    large = ImageOps.fit(shrunk, (SQUARE, SQUARE), Image.Resampling.LANCZOS)
    small = large.resize((SQUARE_SMALL, SQUARE_SMALL), Image.Resampling.LANCZOS)
    return SquarePhoto(secrets.token_urlsafe(18), WebP.of(large, quality=80), WebP.of(small, quality=75))


async def _decoded(process, upload: UploadedFile):
    """Decodes in the photo threads; the messages stay in the reader's
    language (the request's context goes along)."""
    if upload.over_cap:
        raise PhotoRefused(_("« %(name)s » dépasse 15 Mo.", name=upload.filename))
    upload.file.seek(0)
    job = functools.partial(contextvars.copy_context().run, process, upload.file, upload.filename)
    return await asyncio.get_running_loop().run_in_executor(_DECODES, job)


async def encode(upload: UploadedFile) -> EncodedPhoto:
    return await _decoded(_process, upload)


async def encode_square(upload: UploadedFile) -> SquarePhoto:
    return await _decoded(_process_square, upload)


async def encode_all(uploads: list[UploadedFile], form: Form, field: str) -> list[EncodedPhoto]:
    """The chosen photos, held in memory until the post is saved with them
    (four photos: ~1 MB); none if one is refused, its message next to the field."""
    encoded = []
    for upload in uploads:
        try:
            encoded.append(await encode(upload))
        except PhotoRefused as refused:
            form.error(field, str(refused))
            return []
    return encoded
