"""Failed logins slow an attacker down without locking the owner out.

OWASP's "device cookies" (Slow down online guessing attacks with device
cookies): failures from devices an account does not know are counted per
account, keyed by the typed email whether or not it is registered, so a
lockout tells nothing about which emails have an account. After
FREE_FAILURES, such devices wait a delay that doubles with each further
failure, up to MAX_DELAY. A device where the owner has logged in before
carries a cookie signed with the app's secret over the account id and a
random nonce: it skips the account's lockout and counts its own failures, so
a stolen cookie gets locked on its own while the owner keeps logging in.

A success does not clear the account's count (each login of the owner would
hand the attacker fresh guesses); failures a day old are forgotten, and a new
password chosen by email clears the count.

The counters live in the database: every server process sees the same ones.
Per-address rate limits (app.web.limit) still apply on top.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from datetime import datetime, timedelta, timezone

from litestar import Request
from litestar.datastructures import Cookie

from app.accounts.tables import LoginThrottle
from app.settings import get_settings

FREE_FAILURES = 5
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)
# A failure a day old no longer counts: yesterday's typos do not add up with today's.
FORGET_AFTER = timedelta(days=1)
# Accounts one device cookie vouches for: a family tablet serves a few people.
DEVICE_ACCOUNTS = 5
DEVICE_LIFETIME = timedelta(days=365)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _mac(message: str) -> bytes:
    return hmac.new(get_settings().secret_key.encode(), message.encode(), hashlib.sha256).digest()


def account_key(email: str) -> str:
    return _mac(f"account:{email.strip().lower()}").hex()


def device_key(nonce: str) -> str:
    return _mac(f"device:{nonce}").hex()


def delay(failures: int) -> timedelta:
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 16), MAX_DELAY)


async def wait_for(key: str) -> timedelta | None:
    """How much longer attempts under this key are refused; None when they are not."""
    row = (
        await LoginThrottle.select(LoginThrottle.failures, LoginThrottle.last_failure_at)
        .where(LoginThrottle.key_hash == key)
        .first()
    )
    if row is None:
        return None
    left = row["last_failure_at"] + delay(row["failures"]) - now()
    return left if left > timedelta(0) else None


async def record_failure(key: str) -> None:
    current = now()
    # One statement, so failures counted by two processes at once both count.
    await LoginThrottle.raw(
        "INSERT INTO login_throttle (key_hash, failures, last_failure_at) VALUES ({}, 1, {}) "
        "ON CONFLICT (key_hash) DO UPDATE SET failures = CASE WHEN login_throttle.last_failure_at < {} THEN 1 "
        "ELSE login_throttle.failures + 1 END, last_failure_at = {}",
        key,
        current,
        current - FORGET_AFTER,
        current,
    )
    # Stale counters go now and then, without a scheduled job: whoever types
    # random emails adds rows, and a failure adds at most one.
    if random.random() < 0.02:
        await LoginThrottle.delete().where(LoginThrottle.last_failure_at < current - FORGET_AFTER)


async def forget(key: str) -> None:
    await LoginThrottle.delete().where(LoginThrottle.key_hash == key)


# Device cookies -------------------------------------------------------------------


def _cookie_name() -> str:
    return "__Host-device" if get_settings().https else "device"


def _signature(user_id: int, nonce: str) -> str:
    return base64.urlsafe_b64encode(_mac(f"{user_id}.{nonce}")).rstrip(b"=").decode()


def known_accounts(request: Request) -> dict[int, str]:
    """Account id -> nonce, for each entry of this device's cookie whose signature holds."""
    found: dict[int, str] = {}
    raw = request.cookies.get(_cookie_name(), "")[:1000]
    for entry in raw.split("~")[:DEVICE_ACCOUNTS]:
        user_id, _sep, rest = entry.partition(".")
        nonce, _sep, signature = rest.partition(".")
        if (
            user_id.isdigit()
            and len(user_id) < 12
            and nonce
            and hmac.compare_digest(signature.encode(), _signature(int(user_id), nonce).encode())
        ):
            found[int(user_id)] = nonce
    return found


def device_cookie(request: Request, user_id: int) -> Cookie:
    """After a successful login: a fresh nonce for this account (a new cookie
    at each login, as OWASP asks), the device's other accounts kept, newest first."""
    entries = {user_id: secrets.token_urlsafe(16)}
    entries.update((uid, nonce) for uid, nonce in known_accounts(request).items() if uid != user_id)
    value = "~".join(
        f"{uid}.{nonce}.{_signature(uid, nonce)}" for uid, nonce in list(entries.items())[:DEVICE_ACCOUNTS]
    )
    settings = get_settings()
    return Cookie(
        key=_cookie_name(),
        value=value,
        path="/",
        max_age=int(DEVICE_LIFETIME.total_seconds()),
        httponly=True,
        secure=settings.https,
        samesite="lax",
    )
