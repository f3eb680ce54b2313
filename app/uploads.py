"""Forms that carry files, read as they arrive.

Litestar's form parser keeps each text field whole in memory and writes each
file out whatever its size. Here python-multipart's streaming parser reads
the body chunk by chunk: a file goes to a spooled temporary file (in memory
up to 1 MB, then on disk under the data directory, since /tmp may be a RAM
disk) and stops growing at its cap, the rest of it being read and dropped so
that the form can still be answered with what the neighbour typed; a text
field stops at 64 KB, far above any field of the app.

Litestar's CSRF middleware would parse the whole form with its own parser to
find the token, so the routes reading forms this way are left out of it
(`exclude_from_csrf=True`) and the token is checked here, the same way.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import SpooledTemporaryFile

from litestar import Request
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.utils.scope.state import ScopeState
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from app.settings import get_settings

# Four phone photos of up to 15 MB each and the text around them; anything
# bigger is refused (413) as it arrives.
UPLOAD_MAX_BODY = 64 * 1024 * 1024
SPOOL_BYTES = 1024 * 1024
FIELD_MAX_BYTES = 64 * 1024
MAX_PARTS = 100


@dataclass
class UploadedFile:
    filename: str
    file: SpooledTemporaryFile
    size: int = 0
    # More than the cap was sent: what came after it was dropped.
    over_cap: bool = False


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    # How many files each field brought, kept or not.
    chosen: Counter = field(default_factory=Counter)

    def close(self) -> None:
        for uploads in self.files.values():
            for upload in uploads:
                upload.file.close()


class _Reader:
    """python-multipart callbacks filling an UploadForm under the caps."""

    def __init__(self, form: UploadForm, caps: dict[str, int], max_file_bytes: int, spool_dir: Path) -> None:
        self.form, self.caps, self.max_file_bytes, self.spool_dir = form, caps, max_file_bytes, spool_dir
        self.parts = 0
        self.finished = False
        self._start_part()

    def _start_part(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.value: bytearray | None = None
        self.upload: UploadedFile | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._start_part,
            "on_header_field": lambda data, start, end: self.header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _header_end(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def _headers_finished(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ClientException("Too many parts in multipart/form-data")
        _disposition, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self.value = bytearray()
            return
        if not filename or self.name not in self.caps:
            return  # an empty file input, or files nobody asked for: dropped
        self.form.chosen[self.name] += 1
        kept = self.form.files.setdefault(self.name, [])
        if len(kept) < self.caps[self.name]:
            # UploadedFile owns the spooled file and closes it.
            spool = SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=self.spool_dir)  # noqa: SIM115
            self.upload = UploadedFile(filename.decode("utf-8", "replace")[:80], spool)
            kept.append(self.upload)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.value is not None:
            self.value.extend(data[start : min(end, start + FIELD_MAX_BYTES - len(self.value))])
        elif self.upload is not None and not self.upload.over_cap:
            if self.upload.size + end - start > self.max_file_bytes:
                self.upload.over_cap = True
                self.upload.file.truncate(0)  # refused anyway: no need to keep it
                return
            # Writes go to memory or the page cache: too quick to be worth a thread.
            self.upload.file.write(data[start:end])
            self.upload.size += end - start

    def _part_end(self) -> None:
        if self.value is not None:
            self.form.fields.setdefault(self.name, self.value.decode("utf-8", "replace"))

    def _end(self) -> None:
        self.finished = True


@asynccontextmanager
async def upload_form(request: Request, *, caps: dict[str, int], max_file_bytes: int) -> AsyncIterator[UploadForm]:
    """The form's text fields and files, the files closed on leaving; `caps`
    says how many files each file field keeps. A form without the CSRF token
    of the session's cookie is refused (403)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ClientException("multipart/form-data expected")
    spool_dir = get_settings().uploads_dir / "incoming"
    spool_dir.mkdir(parents=True, exist_ok=True)
    form = UploadForm()
    try:
        await _read(request, boundary, _Reader(form, caps, max_file_bytes, spool_dir))
        _check_csrf(request, form)
        yield form
    finally:
        form.close()


async def _read(request: Request, boundary: bytes, reader: _Reader) -> None:
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise ClientException("Invalid multipart/form-data") from None
    if not reader.finished:
        raise ClientException("Unexpected end of multipart/form-data")


def _check_csrf(request: Request, form: UploadForm) -> None:
    """As Litestar's CSRF middleware does: the token sent (htmx's header or
    the form's field) and the cookie's must both be signed with the app's
    secret and carry the same random part."""
    config = request.app.state.csrf_config
    sent = request.headers.get(config.header_name) or form.fields.get("_csrf_token", "")
    cookie = request.cookies.get(config.cookie_name, "")

    def random_part(token: str) -> str | None:
        random, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        expected = generate_csrf_hash(random, config.secret)
        if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        return random

    ours, theirs = random_part(cookie), random_part(sent)
    if ours is None or theirs is None or not hmac.compare_digest(ours.encode(), theirs.encode()):
        raise PermissionDeniedException("CSRF token verification failed")
    # Pages rendered in answer (a form with its errors) carry the token on.
    ScopeState.from_scope(request.scope).csrf_token = sent
