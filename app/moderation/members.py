"""What moderators and neighbours do to accounts: suspend, lift, verify (by a
moderator, by two vouching neighbours, by a code sent by post), appoint
moderators. Every act goes into the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from app.accounts.sessions import end_all_sessions
from app.accounts.tables import User
from app.i18n import N_, current_locale, gettext, speaking
from app.moderation.tables import ModerationAction, ModeratorAssignment, VerificationCode, Vouch
from app.neighbourhoods.tables import Neighbourhood
from app.notify.mail import send_mail
from app.notify.queries import notify
from app.settings import get_settings

DURATIONS = {
    "1": N_("1 jour"),
    "7": N_("7 jours"),
    "30": N_("30 jours"),
    "permanent": N_("Définitivement"),
}
# "Permanent" is a date no one will see pass; it keeps one column and one rule.
FOREVER = datetime(9999, 1, 1, tzinfo=timezone.utc)
VOUCHES_NEEDED = 2
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
MAX_CODE_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _log(moderator_id: int | None, hood_id: int, action: str, user_id: int, reason: str = "", public: bool = False) -> None:
    await ModerationAction.insert(ModerationAction(moderator=moderator_id, neighbourhood=hood_id, action=action,
                                                   target_type="user", target_id=user_id, target_user=user_id,
                                                   reason=reason, public=public))


async def suspend(moderator, member: User, duration: str, reason: str) -> datetime:
    until = FOREVER if duration == "permanent" else _now() + timedelta(days=int(duration))
    await User.update({User.suspended_until: until, User.suspension_reason: reason}).where(User.id == member.id)
    # At once: every session ends, so the next request of any device is signed out.
    await end_all_sessions(member.id)
    await _log(moderator.id, member.neighbourhood, "suspend", member.id, reason)
    with speaking(member.locale):
        await _mail_suspension(member, until, reason)
    return until


async def _mail_suspension(member: User, until: datetime, reason: str) -> None:
    from app.main import format_when  # the app is built by then; at import time main imports this module

    when = format_when(until, "d MMMM y, HH:mm")
    length = gettext("définitivement") if until == FOREVER else gettext("jusqu'au %(date)s", date=when)
    # A suspended member cannot sign in to any form: the way to contest is an
    # address that people read, named in the text and set as Reply-To.
    contest = get_settings().moderation_email
    await send_mail(member.email, gettext("Votre compte Voisinage est suspendu"), gettext(
        "Bonjour %(name)s,\n\nLa modération de votre quartier a suspendu votre compte %(length)s.\n"
        "Motif : %(reason)s\n\nPour contester cette décision, écrivez à %(address)s en expliquant pourquoi "
        "(répondre à ce message y mène aussi) : elle sera réexaminée.\n\nL'équipe Voisinage",
        name=member.first_name, length=length, reason=reason, address=contest), reply_to=contest)


async def lift_suspension(moderator, member: User) -> None:
    await User.update({User.suspended_until: None, User.suspension_reason: ""}).where(User.id == member.id)
    await _log(moderator.id, member.neighbourhood, "unsuspend", member.id)


async def mark_verified(moderator_id: int | None, member: User, how: str) -> None:
    await User.update({User.verification: "verified"}).where(User.id == member.id)
    await VerificationCode.delete().where(VerificationCode.user == member.id)
    await _log(moderator_id, member.neighbourhood, f"verify_{how}", member.id)
    await notify([member.id], "moderation", url=f"/users/{member.id}",
                 text=gettext("Vous êtes maintenant voisin vérifié."), actor_id=moderator_id)


async def vouch(voucher: User, member: User) -> bool:
    """A verified neighbour of the same quartier vouches once; two make the member verified."""
    if not await Vouch.exists().where((Vouch.voucher == voucher.id) & (Vouch.vouchee == member.id)):
        await Vouch.insert(Vouch(voucher=voucher.id, vouchee=member.id))
    count = await Vouch.count().where(Vouch.vouchee == member.id)
    if count >= VOUCHES_NEEDED and member.verification != "verified":
        await mark_verified(None, member, "vouch")
        return True
    return False


async def has_vouched(voucher_id: int, member_id: int) -> bool:
    return await Vouch.exists().where((Vouch.voucher == voucher_id) & (Vouch.vouchee == member_id))


# Letters -------------------------------------------------------------------------------


def _hash(code: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, code.strip().upper().replace(" ", "").replace("-", "").encode(), hashlib.sha256).hexdigest()


async def pending_letters(hood_ids: list[int] | None, limit: int = 100) -> list[dict]:
    """Neighbours whose address was checked but who are not verified yet, oldest first."""
    query = User.select(User.id, User.first_name, User.last_name, User.address_label, User.neighbourhood,
                        User.created_at).where((User.verification == "address_checked") & User.address_label.is_not_null())
    if hood_ids is not None:
        query = query.where(User.neighbourhood.is_in(hood_ids or [0]))
    return await query.order_by(User.id).limit(limit)


async def print_letters(user_ids: list[int]) -> dict[int, str]:
    """New codes for these neighbours (an earlier letter's code stops working); shown once, stored hashed."""
    if not user_ids:
        return {}
    raw = {user_id: "".join(secrets.choice(CODE_ALPHABET) for _ in range(8)) for user_id in user_ids}
    async with VerificationCode._meta.db.transaction():
        await VerificationCode.delete().where(VerificationCode.user.is_in(list(raw)))
        await VerificationCode.insert(*[VerificationCode(user=u, code_hash=_hash(c), printed_at=_now()) for u, c in raw.items()])
    return {u: f"{c[:4]}-{c[4:]}" for u, c in raw.items()}


async def check_code(member: User, code: str) -> str:
    """'ok', 'wrong', 'none' (no letter sent) or 'blocked' (too many tries: ask a new letter)."""
    row = await VerificationCode.select().where((VerificationCode.user == member.id)
                                               & VerificationCode.used_at.is_null()).first()
    if row is None:
        return "none"
    if row["attempts"] >= MAX_CODE_ATTEMPTS:
        return "blocked"
    if not hmac.compare_digest(row["code_hash"], _hash(code)):
        await VerificationCode.update({VerificationCode.attempts: VerificationCode.attempts + 1}).where(
            VerificationCode.id == row["id"])
        return "blocked" if row["attempts"] + 1 >= MAX_CODE_ATTEMPTS else "wrong"
    await mark_verified(None, member, "letter")
    return "ok"


# The team -------------------------------------------------------------------------------


async def moderators() -> list[dict]:
    return await ModeratorAssignment.raw(
        "SELECT m.id, m.user, m.neighbourhood, a.first_name, a.last_name, a.email, n.name AS hood_name, n.city "
        "FROM moderator_assignment m JOIN account a ON a.id = m.user JOIN neighbourhood n ON n.id = m.neighbourhood "
        "ORDER BY n.name, a.last_name")


async def appoint(admin, member: User, hood_id: int) -> None:
    if not await ModeratorAssignment.exists().where((ModeratorAssignment.user == member.id)
                                                    & (ModeratorAssignment.neighbourhood == hood_id)):
        await ModeratorAssignment.insert(ModeratorAssignment(user=member.id, neighbourhood=hood_id))
    if member.role == "member":
        await User.update({User.role: "moderator"}).where(User.id == member.id)
    await _log(admin.id, hood_id, "appoint", member.id)


async def dismiss(admin, assignment_id: int) -> bool:
    row = await ModeratorAssignment.select().where(ModeratorAssignment.id == assignment_id).first()
    if row is None:
        return False
    await ModeratorAssignment.delete().where(ModeratorAssignment.id == assignment_id)
    if not await ModeratorAssignment.exists().where(ModeratorAssignment.user == row["user"]):
        await User.update({User.role: "member"}).where((User.id == row["user"]) & (User.role == "moderator"))
    await _log(admin.id, row["neighbourhood"], "dismiss", row["user"])
    return True


async def set_requires_verification(moderator, hood_id: int, value: bool) -> None:
    await Neighbourhood.update({Neighbourhood.requires_verification: value}).where(Neighbourhood.id == hood_id)
    await ModerationAction.insert(ModerationAction(
        moderator=moderator.id, neighbourhood=hood_id, action="require_verified" if value else "open_to_all",
        target_type="hood", target_id=hood_id, public=True))


async def audit_log(hood_ids: list[int] | None, *, before: int | None = None, limit: int = 50) -> list[dict]:
    """Every act, newest first, with who did it (for moderators only)."""
    args: list = []
    sql = ("SELECT m.id, m.action, m.target_type, m.target_id, m.reason, m.created_at, m.neighbourhood, "
           "a.first_name, a.last_name, t.first_name AS target_first_name, t.last_name AS target_last_name "
           "FROM moderation_action m LEFT JOIN account a ON a.id = m.moderator "
           "LEFT JOIN account t ON t.id = m.target_user WHERE 1 = 1")
    if hood_ids is not None:
        sql += f" AND m.neighbourhood IN ({', '.join('{}' for _ in hood_ids or [0])})"
        args += hood_ids or [0]
    if before:
        sql += " AND m.id < {}"
        args.append(before)
    sql += " ORDER BY m.id DESC LIMIT {}"
    args.append(limit)
    rows = await ModerationAction.raw(sql, *args)
    for row in rows:
        if isinstance(row["created_at"], str):
            row["created_at"] = datetime.fromisoformat(row["created_at"])
    return rows
