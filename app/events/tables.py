from piccolo.columns import ForeignKey, Integer, OnDelete, OnUpdate, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood
from app.posts.tables import Post


class Event(Table, tablename="event"):
    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, unique=True)
    # Copied from the post so that /events reads (neighbourhood, starts_at)
    # by index instead of joining every upcoming event in France. As migration
    # 0004 added it (ids never change, so ON UPDATE never acts).
    neighbourhood = ForeignKey(
        references=Neighbourhood, null=True, default=None, on_delete=OnDelete.cascade, on_update=OnUpdate.no_action
    )
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    place = Varchar(length=200)
    capacity = Integer(null=True, default=None)
    # Kept in step with signups so that lists never count rows.
    going_count = Integer(default=0)
    waitlist_count = Integer(default=0)
    cancelled_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)


class Signup(Table, tablename="signup"):
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=10)  # going | waitlist | cancelled
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
