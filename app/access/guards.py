"""Who may reach a handler: signed in, member (address checked), admin.
Guards are coarse gates; the rules about one object (owner, quartier) are the
other functions of app.access, called by the handler."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from app.access.viewers import Forbidden, is_admin
from app.accounts.tables import User


class NeedsAddress(HTTPException):
    """Signed in, but no checked address yet: step 2 of the signup comes first."""

    status_code = 403


# The guards are coroutines: Litestar runs a plain function guard in a worker
# thread, a hop that cost more than the check itself on every request.


def signed_in(connection: ASGIConnection) -> User:
    user = connection.scope.get("user")
    if user is None:
        # A pending signup goes where a new account without an address goes.
        raise NeedsAddress() if connection.scope.get("signup_pending") else NotAuthorizedException()
    return user


async def requires_signup_step(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Step 2 of the signup: a signed-in person, or a pending signup (app.accounts.sessions)."""
    if connection.scope.get("user") is None and not connection.scope.get("signup_pending"):
        raise NotAuthorizedException()


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    signed_in(connection)


async def requires_member(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if signed_in(connection).neighbourhood is None:
        raise NeedsAddress()


async def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not is_admin(signed_in(connection)):
        raise Forbidden()
