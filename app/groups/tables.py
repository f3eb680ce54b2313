from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class InterestGroup(Table, tablename="interest_group"):
    """A group of a quartier, open to that quartier and its quartiers voisins."""

    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    description = Text(default="")
    topic = Varchar(length=20)
    # "open": anyone who may see it joins at once; "request": an admin accepts.
    joining = Varchar(length=10, default="open")
    # "open" or "closed" (its last member left).
    status = Varchar(length=10, default="open")
    member_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class GroupMember(Table, tablename="group_member"):
    """One person in one group: "admin", "member", or "pending" (asked to join)."""

    group = ForeignKey(references=InterestGroup, on_delete=OnDelete.cascade)
    member = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=10, default="member")
    created_at = Timestamptz(default=TimestamptzNow())
