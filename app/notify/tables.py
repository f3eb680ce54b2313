from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User


class Notification(Table, tablename="notification"):
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    # reply_to_post | reply_in_thread | message | event | help_match | moderation | loan
    kind = Varchar(length=20)
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    url = Varchar(length=300)
    # What app.notify.text.describe() needs to say it in the reader's language
    # (names, titles, ISO dates, params["what"] within the kind).
    params = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class PushSubscription(Table, tablename="push_subscription"):
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    endpoint = Varchar(length=1000, unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=100)
    user_agent = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_success_at = Timestamptz(null=True, default=None)
    failures = Integer(default=0)


class PushDelivery(Table, tablename="push_delivery"):
    """The outbox: a row per (notification, device), sent by the worker."""

    subscription = ForeignKey(references=PushSubscription, on_delete=OnDelete.cascade, index=True)
    payload = Text()
    topic = Varchar(length=32, default="")
    urgency = Varchar(length=10, default="normal")
    status = Varchar(length=10, default="pending")  # pending | sending | sent | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    locked_until = Timestamptz(null=True, default=None)
    last_error = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
