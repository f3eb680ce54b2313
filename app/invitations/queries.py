"""Named queries about invitations: a member's link to their quartier, the
accounts opened through it, and how many of them the address check placed in
that quartier."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone

from app.invitations.tables import InvitationLink, InvitedSignup
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from app.settings import get_settings

CODE_LENGTH = 20  # 100 bits of an HMAC, in lower-case base32: unguessable, easy to type from paper


@dataclass(frozen=True)
class Invitation:
    """What the invitation page may show: the quartier and the inviter's first name, nothing else of anyone."""

    code: str
    inviter_id: int
    first_name: str
    neighbourhood: Neighbourhood


def _code_for(inviter_id: int, neighbourhood_id: int) -> str:
    mac = hmac.new(
        get_settings().secret_key.encode(), f"invite:{inviter_id}:{neighbourhood_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(mac).decode().lower()[:CODE_LENGTH]


async def link_code(inviter_id: int, neighbourhood_id: int) -> str | None:
    """The member's code for the quartier, if they made their link."""
    found = await InvitationLink.select(InvitationLink.code).where(
        (InvitationLink.inviter == inviter_id) & (InvitationLink.neighbourhood == neighbourhood_id)
    )
    return found[0]["code"] if found else None


async def make_link(inviter_id: int, neighbourhood_id: int) -> str:
    """The member's one code for the quartier: the stored one if any (it
    survives a change of secret key), else stored now; the same either way.
    Only a POST calls this: viewing a page never writes."""
    code = await link_code(inviter_id, neighbourhood_id)
    if code is not None:
        return code
    code = _code_for(inviter_id, neighbourhood_id)
    await InvitationLink.insert(
        InvitationLink(code=code, inviter=inviter_id, neighbourhood=neighbourhood_id)
    ).on_conflict(target=InvitationLink.code, action="DO NOTHING")
    return code


async def invitation(code: str) -> Invitation | None:
    if len(code) != CODE_LENGTH:
        return None
    found = (
        await InvitationLink.select(
            InvitationLink.inviter, InvitationLink.neighbourhood, InvitationLink.inviter.first_name
        )
        .where(InvitationLink.code == code)
        .first()
    )
    if found is None:
        return None
    neighbourhood = await neighbourhoods.by_id(found["neighbourhood"])
    return Invitation(code, found["inviter"], found["inviter.first_name"], neighbourhood)


async def record_signup(code: str, invitee_id: int) -> None:
    """An account opened from an invitation: counted once its address is checked (`accept`)."""
    invited = await invitation(code)
    if invited is None or invited.inviter_id == invitee_id:
        return
    await InvitedSignup.insert(
        InvitedSignup(inviter=invited.inviter_id, invitee=invitee_id, neighbourhood=invited.neighbourhood.id)
    )


async def invited_to(invitee_id: int) -> Neighbourhood | None:
    """The quartier a new account was invited to, while its address is not yet checked."""
    found = await InvitedSignup.select(InvitedSignup.neighbourhood).where(
        (InvitedSignup.invitee == invitee_id) & InvitedSignup.accepted_at.is_null()
    )
    return await neighbourhoods.by_id(found[0]["neighbourhood"]) if found else None


async def accept(invitee_id: int, neighbourhood_id: int) -> bool:
    """The address check placed the invitee: it counts for the inviter only in
    the invited quartier. Someone invited who lives elsewhere joins their own
    quartier and is not counted, so the inviter never learns where they live."""
    done = (
        await InvitedSignup.update({InvitedSignup.accepted_at: datetime.now(timezone.utc)})
        .where(
            (InvitedSignup.invitee == invitee_id)
            & (InvitedSignup.neighbourhood == neighbourhood_id)
            & InvitedSignup.accepted_at.is_null()
        )
        .returning(InvitedSignup.id)
    )
    return bool(done)


async def accepted_count(inviter_id: int) -> int:
    return await InvitedSignup.count().where(
        (InvitedSignup.inviter == inviter_id) & InvitedSignup.accepted_at.is_not_null()
    )
