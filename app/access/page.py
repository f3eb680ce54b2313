"""What a page may offer the viewer, asked from templates as `can(me)`: the
same predicates the routes enforce, so the button shown and the check made
are one rule. Answers that need the database are computed by the route and
passed in the context (`moderator`, `mine`, `vouch_offered`)."""

from __future__ import annotations

from app.access.moderators import lives_in
from app.access.posts import can_see_reply
from app.access.viewers import as_viewer, awaiting_address, is_admin, is_staff


class Can:
    def __init__(self, viewer) -> None:
        self.viewer = as_viewer(viewer)

    @property
    def open_moderation(self) -> bool:
        return is_staff(self.viewer)

    @property
    def only_finish_signup(self) -> bool:
        return awaiting_address(self.viewer)

    def see_reply(self, reply: dict, moderator: bool) -> bool:
        return can_see_reply(self.viewer, reply, moderator=moderator)

    def open_profile(self, neighbourhood_id: int | None, *, moderates: int | None = None) -> bool:
        """Whether a name links to its profile: only where the profile opens
        (`can_see_profile`), so that a neighbour from a quartier voisin,
        under a post shown to both, is a name and not a link to a 404.
        `moderates`: the quartier of the page, when the viewer moderates it."""
        return (
            lives_in(self.viewer, neighbourhood_id)
            or is_admin(self.viewer)
            or (moderates is not None and moderates == neighbourhood_id)
        )


def can(viewer) -> Can:
    return Can(viewer)
