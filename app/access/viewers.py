"""Who is asking: the anonymous stand-in, roles, suspension, and the two refusals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from litestar.exceptions import NotFoundException, PermissionDeniedException


class NotFound(NotFoundException):
    """404: what the viewer must not learn exists (another quartier's post, a
    conversation between others) gets the same answer as what does not exist."""


class Forbidden(PermissionDeniedException):
    """403: the viewer knows the thing exists, and may not do this to it."""


class Anonymous:
    """Whoever is not signed in. Every question about them answers no, so the
    rules never test for None."""

    id = None
    role = "anonymous"
    neighbourhood = None
    verification = "none"
    suspended_until = None


ANONYMOUS = Anonymous()


def as_viewer(user):
    return ANONYMOUS if user is None else user


def is_admin(viewer) -> bool:
    return as_viewer(viewer).role == "admin"


def is_staff(viewer) -> bool:
    """Moderators and admins: the moderation pages are theirs (which quartiers
    they reach there, `moderated_neighbourhoods` says)."""
    return as_viewer(viewer).role in ("moderator", "admin")


def awaiting_address(viewer) -> bool:
    """A neighbour whose address is not checked yet: step 2 of the signup comes
    first. Staff accounts need no address to do their work."""
    viewer = as_viewer(viewer)
    return viewer.id is not None and not viewer.neighbourhood and viewer.role == "member"


def suspension(who, *, at: datetime | None = None) -> datetime | None:
    """When the suspension `who` is under ends, or None when they are free to
    act. `who` is an account, or a row carrying its `suspended_until`."""
    until = who.get("suspended_until") if isinstance(who, Mapping) else getattr(who, "suspended_until", None)
    if until is None:
        return None
    if until.tzinfo is None:  # SQLite hands back naive UTC
        until = until.replace(tzinfo=timezone.utc)
    return until if until > (at or datetime.now(timezone.utc)) else None
