from piccolo.columns import ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.posts.tables import Post


class Ride(Table, tablename="ride"):
    """A covoiturage annonce's trip: the post says what, this row where and when."""

    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, unique=True)
    origin = Varchar(length=120)
    destination = Varchar(length=120)
    departs_at = Timestamptz()
    # The way back, for a return trip; null for a one-way trip.
    returns_at = Timestamptz(null=True, default=None)
    seats = Integer()
    # Kept in step with ride_seat so that a seat decision never counts rows.
    seats_taken = Integer(default=0)


class RideSeat(Table, tablename="ride_seat"):
    """One neighbour's seat in a ride: at most one per person and ride, decided
    while the ride's row is held (app.rides.queries)."""

    ride = ForeignKey(references=Ride, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
