from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.posts.tables import Post


class Poll(Table, tablename="poll"):
    """A discussion's poll: one per post, gone with it."""

    post = ForeignKey(references=Post, on_delete=OnDelete.cascade, unique=True)
    multiple = Boolean(default=False)
    closes_at = Timestamptz()
    # Kept in step with the votes (in the transaction that holds the poll), so
    # the feed's "Sondage · 12 votes" never counts rows.
    voter_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class PollOption(Table, tablename="poll_option"):
    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    label = Varchar(length=100)
    vote_count = Integer(default=0)


class PollVote(Table, tablename="poll_vote"):
    """One option a person chose. Unique on (poll, user, option) by migration
    0023, which also serves as the index of a person's choices in a poll."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    option = ForeignKey(references=PollOption, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
