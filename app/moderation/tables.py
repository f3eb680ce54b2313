from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class Report(Table, tablename="report"):
    reporter = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    target_type = Varchar(length=10)  # post | reply | message | user
    target_id = Integer()
    target_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    reason = Varchar(length=12)
    text = Varchar(length=1000, default="")
    status = Varchar(length=10, default="open")  # open | resolved | dismissed
    resolved_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    resolved_at = Timestamptz(null=True, default=None)
    resolution_note = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ModerationAction(Table, tablename="moderation_action"):
    """The audit log; `public` rows also appear in the neighbourhood's public log."""

    moderator = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    action = Varchar(length=20)
    target_type = Varchar(length=10)
    target_id = Integer()
    target_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    reason = Varchar(length=500, default="")
    public = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
