"""Lending through an annonce: who has it, until when, a reminder the day
before it is due, and what ends when a neighbour leaves."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from app.posts.queries import PARIS
from app.posts.tables import Loan, Post


async def lend(post_id: int, lender_id: int, borrower_id: int, due_on: date) -> None:
    async with Loan._meta.db.transaction():
        await Loan.update({Loan.returned_at: datetime.now(timezone.utc)}).where(
            (Loan.post == post_id) & Loan.returned_at.is_null()
        )
        await Loan.insert(
            Loan(
                post=post_id,
                lender=lender_id,
                borrower=borrower_id,
                starts_on=datetime.now(PARIS).date(),
                due_on=due_on,
            )
        )
        await Post.update({Post.status: "lent"}).where(Post.id == post_id)


async def returned(post_id: int) -> None:
    async with Loan._meta.db.transaction():
        await Loan.update({Loan.returned_at: datetime.now(timezone.utc)}).where(
            (Loan.post == post_id) & Loan.returned_at.is_null()
        )
        await Post.update({Post.status: "open"}).where(Post.id == post_id)


async def current_loan(post_id: int) -> dict | None:
    return (
        await Loan.select(Loan.all_columns(), Loan.borrower.first_name, Loan.borrower.last_name)
        .where((Loan.post == post_id) & Loan.returned_at.is_null())
        .first()
    )


async def loans_of(user_id: int) -> list[dict]:
    """The loans a neighbour is part of, as lender or borrower, still running."""
    columns = (
        Loan.all_columns(),
        Loan.post.title,
        Loan.lender.first_name,
        Loan.lender.last_name,
        Loan.borrower.first_name,
        Loan.borrower.last_name,
    )
    lent = await Loan.select(*columns).where((Loan.lender == user_id) & Loan.returned_at.is_null()).limit(50)
    borrowed = await Loan.select(*columns).where((Loan.borrower == user_id) & Loan.returned_at.is_null()).limit(50)
    return sorted(lent + borrowed, key=lambda r: r["due_on"])


async def end_loans_of(user_id: int) -> list[dict]:
    """Ends the running loans of a neighbour who leaves, lent or borrowed;
    returns them, so the other side can be told."""
    running = await Loan.select(Loan.id, Loan.post, Loan.lender, Loan.borrower, Loan.post.title).where(
        ((Loan.lender == user_id) | (Loan.borrower == user_id)) & Loan.returned_at.is_null()
    )
    if running:
        async with Loan._meta.db.transaction():
            await Loan.update({Loan.returned_at: datetime.now(timezone.utc)}).where(
                Loan.id.is_in([r["id"] for r in running])
            )
            # What they borrowed is the lender's to lend again.
            borrowed = [r["post"] for r in running if r["borrower"] == user_id]
            if borrowed:
                await Post.update({Post.status: "open"}).where(Post.id.is_in(borrowed) & (Post.status == "lent"))
    return running


async def send_loan_reminders(now: datetime | None = None) -> int:
    """Tells each borrower the day before the due date, once."""
    from app.notify.queries import notify

    now = now or datetime.now(timezone.utc)
    tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
    due = await Loan.select(Loan.id, Loan.post, Loan.borrower, Loan.post.title).where(
        (Loan.due_on <= tomorrow) & Loan.returned_at.is_null() & Loan.reminded_at.is_null()
    )
    for loan in due:
        # Claim first, so two workers never remind twice.
        claimed = (
            await Loan.update({Loan.reminded_at: now})
            .where((Loan.id == loan["id"]) & Loan.reminded_at.is_null())
            .returning(Loan.id)
        )
        if claimed and loan["borrower"]:
            await notify(
                [loan["borrower"]],
                "loan",
                url=f"/posts/{loan['post']}",
                params={"what": "due_tomorrow", "title": loan["post.title"]},
            )
    return len(due)
