from piccolo.columns import (
    JSON,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    OnUpdate,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.neighbourhoods.tables import Neighbourhood


class User(Table, tablename="account"):
    email = Varchar(length=254, unique=True, index=True)
    password_hash = Varchar(length=200)
    first_name = Varchar(length=60)
    last_name = Varchar(length=60)
    # Private: never rendered for anyone but its owner, never a sort or filter key.
    address_label = Varchar(length=200, null=True, default=None)
    address_lat = DoublePrecision(null=True, default=None)
    address_lon = DoublePrecision(null=True, default=None)
    neighbourhood = ForeignKey(references=Neighbourhood, null=True, on_delete=OnDelete.set_null, index=True)
    # When the address check last put them in this quartier: « Nouveaux voisins »
    # reads it through (neighbourhood, neighbourhood_joined_at) (migration 0025).
    neighbourhood_joined_at = Timestamptz(null=True, default=None)
    # none -> address_checked (signup) -> verified
    verification = Varchar(length=20, default="none")
    role = Varchar(length=12, default="member")  # member | moderator | admin
    email_confirmed_at = Timestamptz(null=True, default=None)
    bio = Text(default="")
    skills = JSON(default=[])
    locale = Varchar(length=5, default="")  # "" follows the browser
    notification_prefs = JSON(default={})
    # A permanent SMTP refusal of this address (app.notify.mail_outbox): no
    # notification mail until the person sets it again from their settings.
    mail_stopped_at = Timestamptz(null=True, default=None)
    suspended_until = Timestamptz(null=True, default=None)
    suspension_reason = Varchar(length=300, default="")
    # Hash of the private calendar URL token (events.ics without a session).
    calendar_token_hash = Varchar(length=64, null=True, default=None, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name[:1]}." if self.last_name else self.first_name


class Session(Table, tablename="user_session"):
    # Only a hash of the cookie value is stored: a leaked database dump opens no session.
    token_hash = Varchar(length=64, unique=True, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    user_agent = Varchar(length=200, default="")


class AccountToken(Table, tablename="account_token"):
    """One-time links sent by email: confirm the address, reset the password."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=20)  # confirm_email | reset_password
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class PendingSignup(Table, tablename="pending_signup"):
    """Step 1 of a signup with an address that already has an account: the
    person gets a cookie shaped like a new account's session and goes on to
    step 2, so the answer does not tell whether the address is registered; no
    account is created or touched, and the owner of the address gets an email."""

    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed logins per account (keyed by the typed email, known or not) or
    per device cookie; see app.accounts.lockout. Keys are HMACs: the table
    holds no email address."""

    key_hash = Varchar(length=64, unique=True)
    failures = Integer(default=0)
    last_failure_at = Timestamptz()


class UserSkill(Table, tablename="user_skill"):
    """One row per skill a neighbour offers: the "Qui peut m'aider ?"
    directory reads (neighbourhood, skill) by index instead of every profile."""

    # As migration 0003 created them (ids never change, so ON UPDATE never acts).
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, on_update=OnUpdate.no_action)
    neighbourhood = ForeignKey(
        references=Neighbourhood, null=False, on_delete=OnDelete.cascade, on_update=OnUpdate.no_action
    )
    skill = Varchar(length=30)


class ModeratorAssignment(Table, tablename="moderator_assignment"):
    """A role granted for one quartier, like `User.role`: app.access reads it
    to answer who moderates where; the team page (app.moderation) writes it."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Block(Table, tablename="block"):
    """Whoever one blocks disappears from one's feed, threads and inbox (app.access.blocked_ids)."""

    blocker = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    blocked = ForeignKey(references=User, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())


class Vouch(Table, tablename="vouch"):
    voucher = ForeignKey(references=User, on_delete=OnDelete.cascade)
    vouchee = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class VerificationCode(Table, tablename="verification_code"):
    """A code sent by post to the address, typed back by the neighbour."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    printed_at = Timestamptz(null=True, default=None)
    used_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
