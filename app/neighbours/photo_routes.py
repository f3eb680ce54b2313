"""A neighbour's profile photo: chosen and removed on the profile form
(/settings/profile), served to whoever may see the profile, like a post's
photo (same cache headers, the image's hash as ETag)."""

from __future__ import annotations

from types import SimpleNamespace

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException

from app.access import blocked_ids, can_see_profile, has_blocked, requires_member
from app.forms import Form
from app.i18n import _
from app.neighbours import profile_photos
from app.posts.kinds import SKILLS, skills_of
from app.posts.photo_routes import image_response
from app.posts.photos import MAX_BYTES, PhotoRefused, encode_square
from app.uploads import upload_form
from app.web import limit, render, see_other, wants_fragment

SIZES = ("large", "small")


@get("/profile-photos/{name:str}/{size:str}", guards=[requires_member])
async def profile_photo(request: Request, name: str, size: str) -> Response:
    found = await profile_photos.by_name(name) if size in SIZES else None
    person = SimpleNamespace(**found) if found else None
    me = request.user
    # Someone I blocked keeps their profile for me, so their photo too (app.access).
    i_blocked = person is not None and person.id in await blocked_ids(me) and await has_blocked(me.id, person.id)
    if not await can_see_profile(me, person, i_blocked=i_blocked):
        raise NotFoundException()
    return await image_response(request, found[size])


async def profile_form_page(request: Request, photo_form: Form, *, status_code: int = 200) -> Response:
    """The profile form, or only its photo part for htmx, with the photo's message."""
    me = request.user
    form = Form({"bio": me.bio or ""})
    form.values["skills"] = skills_of(me)
    context = {"form": form, "skills": SKILLS, "photo": await profile_photos.name_of(me.id), "photo_form": photo_form}
    return render(
        request,
        "neighbours/profile_form.html",
        context,
        fragment="neighbours/_photo_form.html",
        status_code=status_code,
    )


async def _saved(request: Request, notice: str) -> Response:
    if wants_fragment(request):
        return await profile_form_page(request, Form())
    return see_other(f"/settings/profile?notice={notice}")


@post(
    "/settings/profile/photo",
    guards=[requires_member],
    request_max_body_size=MAX_BYTES + 64 * 1024,
    exclude_from_csrf=True,
)
async def upload_photo(request: Request) -> Response:
    me = request.user
    await limit(f"profile-photo:{me.id}", 20, 3600)
    async with upload_form(request, caps={"photo": 1}, max_file_bytes=MAX_BYTES) as upload:
        form = Form(upload.fields)
        chosen = upload.files.get("photo", [])
        if not chosen:
            form.error("photo", _("Choisissez une photo."))
            return await profile_form_page(request, form, status_code=422)
        try:
            photo = await encode_square(chosen[0])
        except PhotoRefused as refused:
            form.error("photo", str(refused))
            return await profile_form_page(request, form, status_code=422)
    await profile_photos.replace(me.id, photo)
    return await _saved(request, "photo_saved")


@post("/settings/profile/photo/delete", guards=[requires_member])
async def remove_photo(request: Request) -> Response:
    await profile_photos.remove(request.user.id)
    return await _saved(request, "photo_removed")


ROUTES = [profile_photo, upload_photo, remove_photo]
