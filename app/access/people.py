"""Who may see, write to, vouch for, report and moderate a neighbour."""

from __future__ import annotations

from app.access.blocks import blocked_ids
from app.access.moderators import can_moderate, lives_in
from app.access.viewers import as_viewer, is_admin


def _other(viewer, person) -> bool:
    return person is not None and person.id != as_viewer(viewer).id


async def can_see_profile(viewer, person, *, i_blocked: bool) -> bool:
    """Another quartier's neighbour exists only for those who moderate it.
    Someone I blocked keeps a profile page for me (to unblock them); someone
    who blocked me no longer exists for me."""
    if person is None:
        return False
    if not lives_in(viewer, person.neighbourhood) and not await can_moderate(viewer, person.neighbourhood):
        return False
    return i_blocked or person.id not in await blocked_ids(as_viewer(viewer))


async def can_reach(viewer, person) -> bool:
    """Another neighbour of one's quartier with no block between the two: one
    may write to them and report their profile."""
    return (
        _other(viewer, person)
        and lives_in(viewer, person.neighbourhood)
        and person.id not in await blocked_ids(as_viewer(viewer))
    )


def in_conversation(viewer, conversation: dict | None) -> bool:
    """A conversation exists only for its two people."""
    viewer = as_viewer(viewer)
    return (
        conversation is not None
        and viewer.id is not None
        and viewer.id in (conversation["user_a"], conversation["user_b"])
    )


def can_vouch_for(viewer, person) -> bool:
    """Whom the vouch button may be about: another neighbour of one's quartier."""
    return _other(viewer, person) and lives_in(viewer, person.neighbourhood)


def may_vouch(viewer) -> bool:
    return as_viewer(viewer).verification == "verified"


def vouch_offered(viewer, person) -> bool:
    """The profile shows the vouch button: a verified neighbour, about someone not verified yet."""
    return _other(viewer, person) and may_vouch(viewer) and person.verification != "verified"


async def can_moderate_member(viewer, member) -> bool:
    """A neighbour the moderator may suspend or verify: living in a quartier they moderate."""
    return _other(viewer, member) and await can_moderate(viewer, member.neighbourhood)


def can_suspend(viewer, member) -> bool:
    """Among the neighbours one moderates: only an admin suspends a moderator."""
    return member.role not in ("moderator", "admin") or is_admin(viewer)


# Reports: what the reporter may show the moderators --------------------------------------


def can_report_reply(viewer, reply: dict) -> bool:
    """A reply under a post of one's quartier, someone else's."""
    return lives_in(viewer, reply["neighbourhood"]) and reply["author"] != as_viewer(viewer).id


def can_report_message(viewer, message: dict) -> bool:
    """Only a message one received: the recipient shows it to the moderators, nobody else can."""
    return as_viewer(viewer).id in (message["user_a"], message["user_b"]) and message["sender"] not in (
        None,
        as_viewer(viewer).id,
    )
