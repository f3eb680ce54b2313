"""« Nouveaux voisins »: who the address check put in the quartier in the
last two weeks, for the neighbours already there to welcome.

One indexed read per feed page, bounded: (neighbourhood,
neighbourhood_joined_at) gives the fortnight's arrivals of one quartier, a
handful; a count on the same index says how many are not shown. Nobody
sees themself, nor anyone on either side of a block, nor anyone of another
quartier (the quartier is the viewer's own)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from app.accounts.tables import User
from app.db.recent import Recent
from app.db.rows import rows

WELCOME_DAYS = 14
SHOWN = 6


class Newcomer(NamedTuple):
    id: int
    first_name: str
    last_name: str
    photo: str | None
    days: int


# The same few arrivals for every neighbour of the quartier: kept a few
# seconds per process (app.db.recent), one more than shown so that a newcomer
# reading it still sees SHOWN others.
_arrivals: Recent[tuple[tuple[Newcomer, ...], int]] = Recent()


async def newcomers(neighbourhood_id: int, viewer, blocked: list[int]) -> tuple[tuple[Newcomer, ...], int]:
    """The newest arrivals (at most SHOWN, newest first, each with their
    photo's name or None) and how many arrived in all, but the viewer.
    A reader who blocked someone, or was blocked, has theirs read for them."""
    if blocked:
        return await _read(neighbourhood_id, viewer.id, blocked, SHOWN)
    people, count = await _arrivals.get(neighbourhood_id, lambda: _read(neighbourhood_id, None, [], SHOWN + 1))
    others = tuple(person for person in people if person.id != viewer.id)
    return others[:SHOWN], count - (1 if len(others) < len(people) or _arrived(viewer, neighbourhood_id) else 0)


def forget(neighbourhood_id: int | None) -> None:
    """A change made by this process (an arrival, a suspension, an erasure) shows at once."""
    _arrivals.forget(neighbourhood_id)


def forget_all() -> None:
    _arrivals.clear()


def _arrived(viewer, neighbourhood_id: int) -> bool:
    """Whether the viewer is one of the arrivals counted (the WHERE of `_read`)."""
    now = datetime.now(timezone.utc)
    joined, suspended = viewer.neighbourhood_joined_at, viewer.suspended_until
    return (
        viewer.neighbourhood == neighbourhood_id
        and joined is not None
        and joined >= now - timedelta(days=WELCOME_DAYS)
        and (suspended is None or suspended < now)
    )


async def _read(
    neighbourhood_id: int, viewer_id: int | None, blocked: list[int], shown: int
) -> tuple[tuple[Newcomer, ...], int]:
    now = datetime.now(timezone.utc)
    args: list = [neighbourhood_id, now - timedelta(days=WELCOME_DAYS), now, *blocked]
    not_blocked = f" AND a.id NOT IN ({', '.join('{}' for _ in blocked)})" if blocked else ""
    not_viewer = ""
    if viewer_id is not None:
        not_viewer = " AND a.id <> {}"
        args.append(viewer_id)
    arrived = (
        "WHERE a.neighbourhood = {} AND a.neighbourhood_joined_at >= {} "
        f"AND (a.suspended_until IS NULL OR a.suspended_until < {{}}){not_blocked}{not_viewer}"
    )
    # The count as a subquery on the same index, run once: a window count
    # made SQLite sort through a temporary table (1.9 ms against 0.33 ms at
    # 100,000 accounts).
    found = await rows(
        User.raw(
            "SELECT a.id, a.first_name, a.last_name, a.neighbourhood_joined_at, p.name AS photo, "
            f"(SELECT COUNT(*) FROM account a {arrived}) AS arrivals "
            'FROM account a LEFT JOIN profile_photo p ON p."user" = a.id '
            f"{arrived} ORDER BY a.neighbourhood_joined_at DESC, a.id DESC LIMIT {shown}",
            *args,
            *args,
        )
    )
    # Tuples: the block is kept rendered under them (templating.kept_macros).
    people = tuple(
        Newcomer(
            row["id"], row["first_name"], row["last_name"], row["photo"], (now - row["neighbourhood_joined_at"]).days
        )
        for row in found
    )
    return people, found[0]["arrivals"] if found else 0
