"""Events as organisers make them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.events import queries


async def make_event(
    author,
    *,
    title: str = "Repas de quartier",
    in_days: float = 3,
    hours: float = 3,
    place: str = "Square Darcy",
    capacity: int | None = None,
    rule=None,
) -> int:
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=in_days)
    return await queries.create_event(
        author=author,
        title=title,
        body="Chacun apporte un plat.",
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        place=place,
        capacity=capacity,
        photos=[],
        rule=rule,
    )


def local(dt: datetime) -> str:
    """What a datetime-local input sends: Paris wall-clock time."""
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")
