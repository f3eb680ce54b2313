from piccolo.columns import JSON, Boolean, Bytea, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.groups.tables import InterestGroup
from app.neighbourhoods.tables import Neighbourhood


class Post(Table, tablename="post"):
    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    kind = Varchar(length=20)
    title = Varchar(length=120)
    body = Text()
    status = Varchar(length=10, default="open")
    # Kind-specific fields (a loan's period, the skill a help request needs, …).
    details = JSON(default={})
    pinned = Boolean(default=False)
    # "Visible aussi par les quartiers voisins": the author shows it to them too.
    nearby = Boolean(default=False)
    # Published in an interest group: its members (and moderators) only see it.
    group = ForeignKey(references=InterestGroup, null=True, default=None, on_delete=OnDelete.cascade)
    locked = Boolean(default=False)
    hidden_reason = Varchar(length=300, default="")
    reply_count = Integer(default=0)
    photo_count = Integer(default=0)
    # First photo's thumbnail, so the feed never joins the photo table.
    cover = Varchar(length=80, default="")
    cover_width = Integer(default=0)
    cover_height = Integer(default=0)
    # A sale's price in whole cents (never a float); null: « Prix libre », or not a sale.
    price_cents = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PhotoBlob(Table, tablename="photo_blob"):
    """The bytes of one WebP image, stored once however many photos show it."""

    # SHA-256 of `data`, in hex: the ETag the photo route sends.
    hash = Varchar(length=64, primary_key=True)
    data = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class Photo(Table, tablename="photo"):
    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, index=True)
    owner = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    # Random, server-made: the photo's URL, which nobody outside can guess.
    name = Varchar(length=80, unique=True)
    # The two images; a blob still shown cannot be deleted. Null only for a
    # photo whose file was already lost when photos moved into the database.
    large = ForeignKey(references=PhotoBlob, null=True, on_delete=OnDelete.restrict, index=True)
    thumb = ForeignKey(references=PhotoBlob, null=True, on_delete=OnDelete.restrict, index=True)
    # The feed's ~104 px thumbnail at twice that width; null for a photo saved
    # before it was made (its thumb is served in its place).
    small = ForeignKey(references=PhotoBlob, null=True, on_delete=OnDelete.restrict, index=True)
    width = Integer()
    height = Integer()
    thumb_width = Integer()
    thumb_height = Integer()
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class Reply(Table, tablename="reply"):
    post = ForeignKey(references=Post, on_delete=OnDelete.cascade)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    body = Text()
    hidden = Boolean(default=False)
    hidden_reason = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Loan(Table, tablename="loan"):
    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, index=True)
    lender = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    borrower = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    starts_on = Date()
    due_on = Date(index=True)
    returned_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Thanks(Table, tablename="thanks"):
    """A post's author thanking a neighbour who helped: shown on the post,
    counted on the helper's profile. Indexed by (post, helper), unique: one
    thanks per post and person, and (helper, giver) for the profile's count."""

    post = ForeignKey(references=Post, on_delete=OnDelete.cascade)
    # Null once the author's account is erased: the helper keeps their thanks.
    giver = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    # An erased helper's thanks go with them: they named a person who is gone.
    helper = ForeignKey(references=User, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())


class SavedPost(Table, tablename="saved_post"):
    """A post a neighbour keeps to find again in /saved. Indexed by (user,
    post), unique, and (user, id) for the list, newest saved first."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
