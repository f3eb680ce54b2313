"""Server-side sessions: the cookie holds a random token, the database a hash of it.

Because every request looks its session up, logout, "log out other devices",
a password change and a suspension end a session at once.

A pending signup (step 1 with an email that already has an account) gets a
token of the same shape in the same cookie; the middleware marks such a
request with scope["signup_pending"], and it may only do step 2.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Receive, Scope, Send

from app.access import suspension
from app.access.blocks import blocked_sql, parse_blocked
from app.accounts.tables import PendingSignup, Session, User
from app.db.memory import SESSIONS
from app.db.rows import as_object, select_list
from app.i18n import current_locale, current_region, negotiate, region
from app.notify.queries import unread_sql
from app.settings import get_settings
from app.web import see_other

LIFETIME = timedelta(days=30)
# Writing last_seen on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(minutes=10)
PENDING_LIFETIME = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(timezone.utc)


async def start_session(user_id: int, user_agent: str = "", *, replacing: str | None = None) -> str:
    """A brand-new token at every login: a token planted before login never gains rights."""
    await end_session(replacing)
    token = secrets.token_urlsafe(32)
    await Session.insert(
        Session(token_hash=_hash(token), user=user_id, expires_at=now() + LIFETIME, user_agent=user_agent[:200])
    )
    return token


async def end_session(token: str | None) -> None:
    if token:
        await Session.delete().where(Session.token_hash == _hash(token))
        await PendingSignup.delete().where(PendingSignup.token_hash == _hash(token))


async def start_pending_signup(*, replacing: str | None = None) -> str:
    await end_session(replacing)
    current = now()
    # Signups are rare and rate-limited: clearing the expired ones here keeps the table small.
    await PendingSignup.delete().where(PendingSignup.expires_at < current)
    token = secrets.token_urlsafe(32)
    await PendingSignup.insert(PendingSignup(token_hash=_hash(token), expires_at=current + PENDING_LIFETIME))
    return token


async def is_pending_signup(token: str) -> bool:
    return await PendingSignup.exists().where(
        (PendingSignup.token_hash == _hash(token)) & (PendingSignup.expires_at > now())
    )


def signup_pending(request: Request) -> bool:
    return bool(request.scope.get("signup_pending"))


async def end_other_sessions(user_id: int, keep_token: str | None) -> int:
    query = Session.delete().where(Session.user == user_id)
    if keep_token:
        query = query.where(Session.token_hash != _hash(keep_token))
    result = await query.returning(Session.id)
    return len(result)


async def end_all_sessions(user_id: int) -> None:
    await Session.delete().where(Session.user == user_id)


@lru_cache(maxsize=1)
def _session_sql() -> str:
    return (
        f"SELECT {select_list(User, 'a')}, s.id AS session_id, s.expires_at AS session_expires_at, "
        f"s.last_seen_at AS session_last_seen_at, {unread_sql('a.id')} AS unread_notifications, "
        f"{blocked_sql('a.id')} AS blocked_people "
        'FROM user_session s JOIN account a ON a.id = s."user" WHERE s.token_hash = {}'
    )


async def user_for_token(token: str, *, may_remember: bool = False) -> User | None:
    """`may_remember`: a request that only reads may take the session from
    this process's memory (app.db.memory), and its lookup is
    then kept there."""
    token_hash = _hash(token)

    async def load() -> dict | None:
        # Every request asks this: one indexed join in plain SQL (Piccolo's
        # query builder costs more than the query itself here). The unread count
        # for the navigation of every page and the people hidden from this user
        # (app.access.blocks) come in the same statement.
        rows = await Session.raw(_session_sql(), token_hash)
        return rows[0] if rows else None

    if may_remember:
        row = await SESSIONS.read(Session._meta.db, token_hash, load, group_of=lambda found: found["id"])
    else:
        row = await load()
    if row is None:
        return None
    current = now()
    if row["session_expires_at"] <= current:
        await Session.delete().where(Session.id == row["session_id"])
        return None
    user = as_object(User, row)
    user.unread_notifications = row["unread_notifications"]
    user.blocked_ids = parse_blocked(row["blocked_people"])
    if suspension(user, at=current):
        await end_all_sessions(user.id)
        return None
    if current - row["session_last_seen_at"] > TOUCH_EVERY:
        await Session.update({Session.last_seen_at: current, Session.expires_at: current + LIFETIME}).where(
            Session.id == row["session_id"]
        )
    return user


async def still_signed_in(request: Request) -> User | None:
    """The request's user as its session says now: None once it has ended
    (logout, elsewhere too; suspension; expiry). For what outlasts a request,
    the live streams (app.live)."""
    token = session_token(request)
    return await user_for_token(token, may_remember=True) if token and len(token) <= 100 else None


def session_cookie(token: str) -> Cookie:
    settings = get_settings()
    return Cookie(
        key=settings.session_cookie,
        value=token,
        path="/",
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        secure=settings.https,
        samesite="lax",
    )


def logged_in(token: str, to: str) -> Response:
    """The redirect that ends a login or a signup step, carrying the new session."""
    response = see_other(to)
    response.set_cookie(session_cookie(token))
    return response


def clear_session_cookie(response: Response) -> Response:
    settings = get_settings()
    response.delete_cookie(settings.session_cookie, path="/")
    return response


def session_token(request: Request) -> str | None:
    return request.cookies.get(get_settings().session_cookie)


# Requests that change nothing (app.web: no state change on GET): only they
# may take their session from memory.
_READS = frozenset({"GET", "HEAD"})


class SessionMiddleware:
    """Puts the signed-in User (or None) in scope["user"] for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cookie_name = get_settings().session_cookie.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = None
            scope["signup_pending"] = False
            path = scope.get("path", "")
            if not path.startswith("/static/"):
                token = _cookie(scope, self.cookie_name)
                if token and len(token) <= 100:
                    scope["user"] = await user_for_token(token, may_remember=scope["method"] in _READS)
                    if scope["user"] is None:
                        scope["signup_pending"] = await is_pending_signup(token)
            # Each request runs in its own task, so the locale set here stays
            # with this request, error pages included.
            user = scope["user"]
            languages = _header(scope, b"accept-language")
            current_locale.set(negotiate(languages, user.locale if user else None))
            current_region.set(region(languages))
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.split(b";"):
                k, _sep, v = part.strip().partition(b"=")
                if k == name:
                    return v.decode("latin-1")
    return None
