"""What moderators and admins do to accounts: suspend, lift a suspension,
appoint and dismiss moderators, set the quartier's rule; and the audit log
they read. Verification and vouching are app.neighbours.trust."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.accounts.sessions import end_all_sessions
from app.accounts.tables import ModeratorAssignment, User
from app.db.keyset import Keyset, keyset_page
from app.i18n import N_, gettext, speaking
from app.moderation.audit import audit
from app.moderation.tables import ModerationAction
from app.neighbourhoods import newcomers
from app.neighbourhoods.tables import Neighbourhood
from app.notify.mail import send_mail
from app.settings import get_settings
from app.templating import format_when

DURATIONS = {
    "1": N_("1 jour"),
    "7": N_("7 jours"),
    "30": N_("30 jours"),
    "permanent": N_("Définitivement"),
}
# "Permanent" is a date no one will see pass; it keeps one column and one rule.
FOREVER = datetime(9999, 1, 1, tzinfo=timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def suspend(moderator, member: User, duration: str, reason: str) -> datetime:
    until = FOREVER if duration == "permanent" else _now() + timedelta(days=int(duration))
    await User.update({User.suspended_until: until, User.suspension_reason: reason}).where(User.id == member.id)
    newcomers.forget(member.neighbourhood)
    # At once: every session ends, so the next request of any device is signed out.
    await end_all_sessions(member.id)
    await audit(
        moderator, "suspend", "user", member.id, reason, neighbourhood=member.neighbourhood, target_user=member.id
    )
    with speaking(member.locale):
        await _mail_suspension(member, until, reason)
    return until


async def _mail_suspension(member: User, until: datetime, reason: str) -> None:

    when = format_when(until, "medium")
    length = gettext("définitivement") if until == FOREVER else gettext("jusqu'au %(date)s", date=when)
    # A suspended member cannot sign in to any form: the way to contest is an
    # address that people read, named in the text and set as Reply-To.
    contest = get_settings().moderation_email
    await send_mail(
        member.email,
        gettext("Votre compte Voisinage est suspendu"),
        gettext(
            "Bonjour %(name)s,\n\nLa modération de votre quartier a suspendu votre compte %(length)s.\n"
            "Motif : %(reason)s\n\nPour contester cette décision, écrivez à %(address)s en expliquant pourquoi "
            "(répondre à ce message y mène aussi) : elle sera réexaminée.\n\nL'équipe Voisinage",
            name=member.first_name,
            length=length,
            reason=reason,
            address=contest,
        ),
        reply_to=contest,
    )


async def lift_suspension(moderator, member: User) -> None:
    await User.update({User.suspended_until: None, User.suspension_reason: ""}).where(User.id == member.id)
    newcomers.forget(member.neighbourhood)
    await audit(moderator, "unsuspend", "user", member.id, neighbourhood=member.neighbourhood, target_user=member.id)


# The team -------------------------------------------------------------------------------


async def moderators() -> list[dict]:
    return await ModeratorAssignment.raw(
        "SELECT m.id, m.user, m.neighbourhood, a.first_name, a.last_name, a.email, n.name AS neighbourhood_name, n.city "
        "FROM moderator_assignment m JOIN account a ON a.id = m.user JOIN neighbourhood n ON n.id = m.neighbourhood "
        "ORDER BY n.name, a.last_name"
    )


async def appoint(admin, member: User, neighbourhood_id: int) -> None:
    if not await ModeratorAssignment.exists().where(
        (ModeratorAssignment.user == member.id) & (ModeratorAssignment.neighbourhood == neighbourhood_id)
    ):
        await ModeratorAssignment.insert(ModeratorAssignment(user=member.id, neighbourhood=neighbourhood_id))
    if member.role == "member":
        await User.update({User.role: "moderator"}).where(User.id == member.id)
    await audit(admin, "appoint", "user", member.id, neighbourhood=neighbourhood_id, target_user=member.id)


async def dismiss(admin, assignment_id: int) -> bool:
    row = await ModeratorAssignment.select().where(ModeratorAssignment.id == assignment_id).first()
    if row is None:
        return False
    await ModeratorAssignment.delete().where(ModeratorAssignment.id == assignment_id)
    if not await ModeratorAssignment.exists().where(ModeratorAssignment.user == row["user"]):
        await User.update({User.role: "member"}).where((User.id == row["user"]) & (User.role == "moderator"))
    await audit(admin, "dismiss", "user", row["user"], neighbourhood=row["neighbourhood"], target_user=row["user"])
    return True


async def set_requires_verification(moderator, neighbourhood_id: int, value: bool) -> None:
    await Neighbourhood.update({Neighbourhood.requires_verification: value}).where(Neighbourhood.id == neighbourhood_id)
    await audit(
        moderator,
        "require_verified" if value else "open_to_all",
        "hood",
        neighbourhood_id,
        neighbourhood=neighbourhood_id,
    )


_NEWEST_FIRST = Keyset("m.id", descending=True)


async def audit_log(
    neighbourhood_ids: list[int] | None, *, before: int | None = None, limit: int = 50
) -> tuple[list[dict], int | None]:
    """Every act, newest first, with who did it (for moderators only); and the next page's cursor."""
    args: list = []
    sql = (
        "SELECT m.id, m.action, m.target_type, m.target_id, m.reason, m.created_at, m.neighbourhood, "
        "a.first_name, a.last_name, t.first_name AS target_first_name, t.last_name AS target_last_name "
        "FROM moderation_action m LEFT JOIN account a ON a.id = m.moderator "
        "LEFT JOIN account t ON t.id = m.target_user WHERE 1 = 1"
    )
    if neighbourhood_ids is not None:
        sql += f" AND m.neighbourhood IN ({', '.join('{}' for _ in neighbourhood_ids or [0])})"
        args += neighbourhood_ids or [0]
    return await keyset_page(ModerationAction.raw(sql, *args), _NEWEST_FIRST, cursor=before or None, size=limit)
