from piccolo.columns import Date, ForeignKey, Integer, OnDelete, OnUpdate, Timestamptz, Varchar
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
    # A series: "" (one date), "weekly" (every `repeat_interval` weeks) or
    # "monthly" (on the `repeat_nth` weekday of the month, -1 the last one),
    # until `repeat_until` or for `repeat_count` dates. The dates themselves
    # are rows of event_occurrence, made when the event is saved; starts_at
    # and ends_at above are then the first of them.
    repeat = Varchar(length=10, default="")
    repeat_interval = Integer(default=1)
    repeat_nth = Integer(null=True, default=None)
    repeat_until = Date(null=True, default=None)
    repeat_count = Integer(null=True, default=None)


class Occurrence(Table, tablename="event_occurrence"):
    """One date of a recurring event, with its own seats, waiting list,
    reminder and cancellation (the columns of the same names on event)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade)
    # Copied from the event so that /events reads (neighbourhood, starts_at) by index.
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    going_count = Integer(default=0)
    waitlist_count = Integer(default=0)
    cancelled_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)


class Signup(Table, tablename="signup"):
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    # The date of a recurring event (None for an event on one date).
    occurrence = ForeignKey(references=Occurrence, null=True, default=None, on_delete=OnDelete.cascade)
    status = Varchar(length=10)  # going | waitlist | cancelled
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
