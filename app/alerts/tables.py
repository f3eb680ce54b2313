from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class Alert(Table, tablename="alert"):
    """An urgent alert of one quartier: proposed by a member (then published
    or refused by a moderator) or published at once by a moderator. It shows
    on top of the feed from `published_at` to `expires_at`, unless ended."""

    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    # Who wrote it; erasing them leaves the alert signed by nobody.
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    category = Varchar(length=20)
    title = Varchar(length=80)
    body = Text()
    # How long it shows once published, counted from the publication.
    hours = Integer(default=6)
    status = Varchar(length=10, default="proposed")  # proposed | published | refused | ended
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    # Why a moderator refused it.
    reason = Varchar(length=300, default="")


class AlertDay(Table, tablename="alert_day"):
    """How many alerts a quartier published on one Paris calendar day: one
    row per quartier and day (alert_day_once_idx), counted up by one upsert
    that refuses the fourth, so two moderators publishing at once cannot
    both get the last one."""

    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    # The Paris date as YYYY-MM-DD: the same text on both engines.
    day = Varchar(length=10)
    published = Integer(default=0)
