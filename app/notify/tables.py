from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.neighbourhoods.tables import Neighbourhood


class Notification(Table, tablename="notification"):
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    # reply_to_post | reply_in_thread | message | event | help_match | moderation | loan | ride | alert
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


class MailDelivery(Table, tablename="mail_delivery"):
    """The mail outbox: one row per mail to send. A notification mail gathers
    the lines of its thread (`items`, JSON lines appended while the row waits);
    a digest comes rendered (`subject`, `text_body`, `html_body`). The address
    is read when sending: none is stored here."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=20)
    # The page the mail is about ("/posts/12", "/messages/3"): one thread in the mail client.
    thread = Varchar(length=300, default="")
    items = Text(default="")
    subject = Varchar(length=300, default="")
    text_body = Text(default="")
    html_body = Text(default="")
    status = Varchar(length=10, default="pending")  # pending | sent | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    locked_until = Timestamptz(null=True, default=None)
    last_error = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class DigestRun(Table, tablename="digest_run"):
    """One quartier's digest of one period ("weekly:2026-W49"), made once: the
    worker that inserts this row queues its mails in the same transaction."""

    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade)
    period = Varchar(length=30)
    created_at = Timestamptz(default=TimestamptzNow())
