"""Polls on discussions and their votes.

A vote replaces all of a person's choices in one transaction that holds the
poll (the single SQLite writer with BEGIN IMMEDIATE; SELECT … FOR UPDATE on
PostgreSQL), and the counters move in the same transaction: however many
neighbours vote at once, and however often one of them changes their mind,
each option's count is the number of people who chose it. The unique index
on (poll, user, option) is the backstop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from app.accounts.tables import User
from app.db.rows import held_row
from app.polls.tables import Poll, PollOption, PollVote


@dataclass(frozen=True)
class PollDraft:
    labels: list[str]
    multiple: bool
    closes_at: datetime


class PollClosed(Exception):
    """Closed or hidden: the French reason is the message."""


async def create_discussion(
    *,
    author: User,
    title: str,
    body: str,
    details: dict,
    photos: list,
    poll: PollDraft,
    nearby: bool = False,
    group: dict | None = None,
) -> int:
    """The discussion and its poll, in one transaction: never one without the other."""
    from app.posts import queries as posts

    async with Poll._meta.db.transaction():
        post_id = await posts.create_post(
            author=author,
            kind="discussion",
            title=title,
            body=body,
            details=details,
            photos=photos,
            nearby=nearby,
            group=group,
        )
        rows = await Poll.insert(Poll(post=post_id, multiple=poll.multiple, closes_at=poll.closes_at)).returning(
            Poll.id
        )
        await _add_options(rows[0]["id"], poll.labels)
    return post_id


async def _add_options(poll_id: int, labels: list[str]) -> None:
    await PollOption.insert(*[PollOption(poll=poll_id, position=i, label=label) for i, label in enumerate(labels)])


async def for_post(post_id: int) -> dict | None:
    return await Poll.select().where(Poll.post == post_id).first()


async def options_of(poll_id: int) -> list[dict]:
    return await PollOption.select().where(PollOption.poll == poll_id).order_by(PollOption.position)


async def my_choices(poll_id: int, user_id: int) -> set[int]:
    rows = await PollVote.select(PollVote.option).where((PollVote.poll == poll_id) & (PollVote.user == user_id))
    return {r["option"] for r in rows}


async def _lock(poll_id: int) -> dict:
    return await held_row(Poll, poll_id)


async def vote(poll_id: int, user_id: int, option_ids: set[int], now: datetime | None = None) -> None:
    """Replaces the person's choices with `option_ids` (already checked to
    belong to the poll, one only unless it allows several)."""
    from app.i18n import gettext

    now = now or datetime.now(timezone.utc)
    async with Poll._meta.db.transaction():
        poll = await _lock(poll_id)
        if poll["closes_at"] <= now:
            raise PollClosed(gettext("Ce sondage est clos : les votes ne sont plus acceptés."))
        before = await my_choices(poll_id, user_id)
        if before == option_ids:
            return
        await _take_back(poll_id, user_id, before)
        await PollVote.insert(*[PollVote(poll=poll_id, option=o, user=user_id, created_at=now) for o in option_ids])
        await PollOption.update({PollOption.vote_count: PollOption.vote_count + 1}).where(
            PollOption.id.is_in(list(option_ids))
        )
        if not before:
            await Poll.update({Poll.voter_count: Poll.voter_count + 1}).where(Poll.id == poll_id)


async def _take_back(poll_id: int, user_id: int, choices: set[int]) -> None:
    """Within the caller's transaction, the poll held."""
    if not choices:
        return
    await PollVote.delete().where((PollVote.poll == poll_id) & (PollVote.user == user_id))
    await PollOption.update({PollOption.vote_count: PollOption.vote_count - 1}).where(
        PollOption.id.is_in(list(choices))
    )


async def withdraw(poll_id: int, user_id: int) -> None:
    async with Poll._meta.db.transaction():
        await _lock(poll_id)
        choices = await my_choices(poll_id, user_id)
        if choices:
            await _take_back(poll_id, user_id, choices)
            await Poll.update({Poll.voter_count: Poll.voter_count - 1}).where(Poll.id == poll_id)


async def forget_votes_of(user_id: int) -> None:
    """Erasure: each vote taken back as if withdrawn, counters included,
    before the account's rows go."""
    polls = await PollVote.select(PollVote.poll).where(PollVote.user == user_id).distinct()
    for row in polls:
        await withdraw(row["poll"], user_id)


async def replace_options(poll_id: int, draft: PollDraft) -> bool:
    """New options, choice mode and closing date while nobody has voted;
    False once someone has (checked with the poll held)."""
    async with Poll._meta.db.transaction():
        poll = await _lock(poll_id)
        if poll["voter_count"]:
            return False
        await PollOption.delete().where(PollOption.poll == poll_id)
        await _add_options(poll_id, draft.labels)
        await Poll.update({Poll.multiple: draft.multiple, Poll.closes_at: draft.closes_at}).where(Poll.id == poll_id)
    return True


async def export_of(user_id: int) -> dict:
    """For the RGPD archive: the polls of one's discussions and one's own choices."""
    polls = await Poll.select(
        Poll.id, Poll.post, Poll.multiple, Poll.closes_at, Poll.voter_count, Poll.created_at
    ).where(Poll.post.author == user_id)
    options = (
        await PollOption.select(PollOption.poll, PollOption.label, PollOption.vote_count)
        .where(PollOption.poll.is_in([p["id"] for p in polls]))
        .order_by(PollOption.position)
        if polls
        else []
    )
    for poll in polls:
        poll["options"] = [{"label": o["label"], "votes": o["vote_count"]} for o in options if o["poll"] == poll["id"]]
    votes = (
        await PollVote.select(
            PollVote.poll.post.as_alias("post"), PollVote.option.label.as_alias("option"), PollVote.created_at
        )
        .where(PollVote.user == user_id)
        .order_by(PollVote.id)
    )
    return {"polls": polls, "poll_votes": votes}
