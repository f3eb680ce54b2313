"""The guards moved to app.access.guards, with every other rule of who may
see and do what; their names stay importable from here."""

from app.access.guards import (
    NeedsAddress,
    requires_admin,
    requires_login,
    requires_member,
    requires_signup_step,
    signed_in,
)

__all__ = ["NeedsAddress", "requires_admin", "requires_login", "requires_member", "requires_signup_step", "signed_in"]
