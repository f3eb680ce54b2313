from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.posts.tables import Post


class Conversation(Table, tablename="conversation"):
    """Two neighbours, optionally about a post. user_a has the smaller id, so a
    pair maps to one row per post."""

    user_a = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    user_b = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    post = ForeignKey(references=Post, null=True, on_delete=OnDelete.set_null)
    a_unread = Integer(default=0)
    b_unread = Integer(default=0)
    last_message_at = Timestamptz(default=TimestamptzNow())
    created_at = Timestamptz(default=TimestamptzNow())


class Message(Table, tablename="message"):
    conversation = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    sender = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null, index=True)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
