"""The dates of a recurring event, in Paris wall-clock time.

Computed on naive Paris times and placed in Europe/Paris afterwards, so a
weekly 18:00 stays 18:00 across the change to and from summer time (its UTC
instant moves by an hour). Bounded: a year and 52 dates at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday

PARIS = ZoneInfo("Europe/Paris")
MAX_DATES = 52
MAX_SPAN = timedelta(days=366)
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Rule:
    repeat: str  # weekly | monthly
    interval: int = 1  # every N weeks (weekly only)
    nth: int | None = None  # monthly: 1..4, or -1 for the last such weekday
    until: date | None = None  # the last day a date may fall on (Paris)
    count: int | None = None

    def local_starts(self, start_local: datetime) -> list[datetime]:
        """The naive Paris start of every date from `start_local`."""
        last = datetime.combine(start_local.date() + MAX_SPAN, time.max)
        until = min(datetime.combine(self.until, time.max), last) if self.until else last
        if self.repeat == "weekly":
            rule = rrule(WEEKLY, interval=self.interval, dtstart=start_local, until=until)
        else:
            rule = rrule(MONTHLY, dtstart=start_local, byweekday=weekday(start_local.weekday(), self.nth), until=until)
        return rule[: min(self.count or MAX_DATES, MAX_DATES)]

    def ical(self, start_local: datetime, count: int) -> dict:
        """The RRULE of the `count` dates made (COUNT says exactly those)."""
        if self.repeat == "weekly":
            return {"FREQ": "WEEKLY", "INTERVAL": self.interval, "COUNT": count}
        return {"FREQ": "MONTHLY", "BYDAY": f"{self.nth}{ICAL_DAYS[start_local.weekday()]}", "COUNT": count}

    @classmethod
    def of(cls, event: dict) -> Rule | None:
        """The rule an event row carries, None for an event on one date."""
        if not event.get("repeat"):
            return None
        return cls(
            event["repeat"], event["repeat_interval"], event["repeat_nth"], event["repeat_until"], event["repeat_count"]
        )


def nth_of_month(day: date) -> int:
    """Which of its weekday in the month `day` is: 1 to 5."""
    return (day.day - 1) // 7 + 1


def is_last_of_month(day: date) -> bool:
    return (day + timedelta(days=7)).month != day.month


def dates(starts_at: datetime, ends_at: datetime, rule: Rule) -> list[tuple[datetime, datetime]]:
    """(start, end) of every date of the series in UTC, the first being
    `starts_at`; each lasts as long as the first in Paris wall-clock time."""
    start_local = _local(starts_at)
    length = _local(ends_at) - start_local
    return [(_utc(local), _utc(local + length)) for local in rule.local_starts(start_local)]


def moved(starts_at: datetime, shift: timedelta, length: timedelta) -> tuple[datetime, datetime]:
    """(start, end) in UTC of a date of a series whose hours change: moved by
    `shift` on the Paris wall clock and lasting `length` there, as dates()
    makes them (the organiser's 18:00 → 18:30 is 18:30 in winter and summer)."""
    local = _local(starts_at) + shift
    return _utc(local), _utc(local + length)


def wall_clock_change(
    before: tuple[datetime, datetime], after: tuple[datetime, datetime]
) -> tuple[timedelta, timedelta]:
    """How far the first date's start moved on the Paris wall clock, and its new length there."""
    return _local(after[0]) - _local(before[0]), _local(after[1]) - _local(after[0])


def _local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    # fold=0: an hour that happens twice (late October) is taken the first time.
    return local.replace(tzinfo=PARIS).astimezone(timezone.utc)
