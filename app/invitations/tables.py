from piccolo.columns import ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class InvitationLink(Table, tablename="invitation_link"):
    """A member's personal invitation to one quartier (/invite/{code}). The
    code is an HMAC of the member and the quartier: asking twice, or two
    processes at once, give the same code, so the unique code keeps one link
    per member per quartier; printed flyers keep working as long as the row."""

    code = Varchar(length=32, unique=True)
    # Erasing the inviter takes their links, and the flyers then lead nowhere.
    inviter = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())


class InvitedSignup(Table, tablename="invited_signup"):
    """An account opened through an invitation link. It counts for the
    inviter (`accepted_at`) only once the invitee's checked address put them
    in the invited quartier; an invitee who lives elsewhere is not counted."""

    inviter = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    # The invitee's account outlives the inviter's erasure; this row does not.
    invitee = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    accepted_at = Timestamptz(null=True, default=None)
