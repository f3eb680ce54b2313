from piccolo.columns import Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class Business(Table, tablename="business"):
    """A local business, tradesperson or service, once: the neighbours who
    recommend it add to this entry (matched by `name_key` + `commune_key`, and
    the phone when both give one). It lives as long as someone recommends it."""

    name = Varchar(length=120)
    name_key = Varchar(length=120, index=True)
    category = Varchar(length=20)
    commune = Varchar(length=100)
    commune_key = Varchar(length=100)
    phone = Varchar(length=14, default="")  # "01 23 45 67 89" or ""
    website = Varchar(length=300, default="")
    # The stems of the name and of the visible recommendations' words (app.search).
    search_stems = Text(default="")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Recommendation(Table, tablename="recommendation"):
    """One neighbour's word for one business (the first, or a "Moi aussi"):
    one per person and business (recommendation_once_idx)."""

    business = ForeignKey(references=Business, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    # Where it was written: its moderators may hide it.
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    text = Varchar(length=1000, default="")
    hidden = Boolean(default=False)
    hidden_reason = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
