"""Named queries about accounts; handlers and tests call these directly."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from app.accounts.tables import AccountToken, User


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def user_by_id(user_id: int) -> User | None:
    return await User.objects().where(User.id == user_id).first()


async def user_by_email(email: str) -> User | None:
    return await User.objects().where(User.email == email.strip().lower()).first()


async def email_taken(email: str) -> bool:
    return await User.exists().where(User.email == email.strip().lower())


async def create_user(*, first_name: str, last_name: str, email: str, password_hash: str, locale: str = "") -> User:
    """Raises ValueError("email_taken") when two signups race for one address:
    the unique index, not the earlier check, is what guarantees one account."""
    user = User(
        first_name=first_name,
        last_name=last_name,
        email=email.strip().lower(),
        password_hash=password_hash,
        locale=locale,
    )
    try:
        await user.save()
    except Exception as exc:  # sqlite3.IntegrityError / asyncpg.UniqueViolationError
        if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
            raise ValueError("email_taken") from exc
        raise
    return user


async def set_password(user_id: int, password_hash: str) -> None:
    await User.update({User.password_hash: password_hash}).where(User.id == user_id)


async def set_locale(user_id: int, locale: str) -> None:
    await User.update({User.locale: locale}).where(User.id == user_id)


async def create_token(user_id: int, purpose: str, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    # One live link per purpose: an older reset mail stops working.
    await AccountToken.delete().where((AccountToken.user == user_id) & (AccountToken.purpose == purpose))
    await AccountToken.insert(
        AccountToken(user=user_id, purpose=purpose, token_hash=_hash(token), expires_at=_now() + ttl)
    )
    return token


async def peek_token(token: str, purpose: str) -> AccountToken | None:
    row = (
        await AccountToken.objects()
        .where((AccountToken.token_hash == _hash(token)) & (AccountToken.purpose == purpose))
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= _now():
        return None
    return row


async def use_token(token: str, purpose: str) -> int | None:
    """Marks the token used and returns its user id; a token works once."""
    rows = await (
        AccountToken.update({AccountToken.used_at: _now()})
        .where(
            (AccountToken.token_hash == _hash(token))
            & (AccountToken.purpose == purpose)
            & AccountToken.used_at.is_null()
            & (AccountToken.expires_at > _now())
        )
        .returning(AccountToken.user)
    )
    return rows[0]["user"] if rows else None


async def confirm_email(user_id: int) -> None:
    await User.update({User.email_confirmed_at: _now()}).where((User.id == user_id) & User.email_confirmed_at.is_null())
