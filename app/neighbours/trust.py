"""Trust between neighbours: becoming a verified neighbour, by a moderator,
by two vouching neighbours or by a code sent by post to the address.
Whether a quartier asks for it before publishing is app.access.refusals."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from app.accounts.tables import User, VerificationCode, Vouch
from app.moderation.audit import audit
from app.notify.queries import notify
from app.settings import get_settings

VOUCHES_NEEDED = 2
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
MAX_CODE_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def mark_verified(moderator, member: User, how: str) -> None:
    """`moderator` is None when neighbours' vouches or a letter did it."""
    await User.update({User.verification: "verified"}).where(User.id == member.id)
    await VerificationCode.delete().where(VerificationCode.user == member.id)
    await audit(
        moderator, f"verify_{how}", "user", member.id, neighbourhood=member.neighbourhood, target_user=member.id
    )
    await notify(
        [member.id],
        "moderation",
        url=f"/users/{member.id}",
        params={"what": "verified"},
        actor_id=moderator.id if moderator else None,
    )


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


async def pending_letters(neighbourhood_ids: list[int] | None, limit: int = 100) -> list[dict]:
    """Neighbours whose address was checked but who are not verified yet, oldest first."""
    query = User.select(
        User.id, User.first_name, User.last_name, User.address_label, User.neighbourhood, User.created_at
    ).where((User.verification == "address_checked") & User.address_label.is_not_null())
    if neighbourhood_ids is not None:
        query = query.where(User.neighbourhood.is_in(neighbourhood_ids or [0]))
    return await query.order_by(User.id).limit(limit)


async def print_letters(moderator, pending: list[dict]) -> dict[int, str]:
    """New codes for these neighbours (an earlier letter's code stops working);
    shown once, stored hashed. `pending` rows are `pending_letters` rows."""
    if not pending:
        return {}
    raw = {p["id"]: "".join(secrets.choice(CODE_ALPHABET) for _ in range(8)) for p in pending}
    async with VerificationCode._meta.db.transaction():
        await VerificationCode.delete().where(VerificationCode.user.is_in(list(raw)))
        await VerificationCode.insert(
            *[VerificationCode(user=u, code_hash=_hash(c), printed_at=_now()) for u, c in raw.items()]
        )
        for p in pending:
            await audit(moderator, "letter", "user", p["id"], neighbourhood=p["neighbourhood"], target_user=p["id"])
    return {u: f"{c[:4]}-{c[4:]}" for u, c in raw.items()}


async def check_code(member: User, code: str) -> str:
    """'ok', 'wrong', 'none' (no letter sent) or 'blocked' (too many tries: ask a new letter)."""
    row = (
        await VerificationCode.select()
        .where((VerificationCode.user == member.id) & VerificationCode.used_at.is_null())
        .first()
    )
    if row is None:
        return "none"
    if row["attempts"] >= MAX_CODE_ATTEMPTS:
        return "blocked"
    if not hmac.compare_digest(row["code_hash"], _hash(code)):
        await VerificationCode.update({VerificationCode.attempts: VerificationCode.attempts + 1}).where(
            VerificationCode.id == row["id"]
        )
        return "blocked" if row["attempts"] + 1 >= MAX_CODE_ATTEMPTS else "wrong"
    await mark_verified(None, member, "letter")
    return "ok"
