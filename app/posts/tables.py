from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood

KINDS = ("give", "lend", "borrow", "help_request", "help_offer", "tip", "lost_found", "event", "discussion")
STATUSES = ("open", "reserved", "done", "hidden", "removed")


class Post(Table, tablename="post"):
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    kind = Varchar(length=20)
    title = Varchar(length=120)
    body = Text()
    status = Varchar(length=10, default="open")
    pinned = Boolean(default=False)
    reply_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
