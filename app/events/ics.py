"""Calendars in RFC 5545 (iCalendar), built with the icalendar library."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as VEvent

from app.events.recurrence import Rule
from app.i18n import gettext

PARIS = ZoneInfo("Europe/Paris")


def build(events: list[dict], *, base_url: str, name: str, series: dict[int, dict] | None = None) -> bytes:
    """`series`: per recurring event id, its number of dates and the starts
    of those cancelled (queries.series_dates)."""
    cal = Calendar()
    cal.add("prodid", "-//Voisinage//Calendrier du quartier//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Paris")
    host = base_url.split("://", 1)[-1].split("/")[0].split(":")[0]
    stamp = datetime.now(timezone.utc)
    for event in events:
        item = VEvent()
        item.add("uid", f"event-{event['event_id']}@{host}")
        item.add("dtstamp", stamp)
        # Local times with TZID=Europe/Paris: a calendar app shows the hour
        # the organiser chose, across daylight-saving changes.
        item.add("dtstart", event["starts_at"].astimezone(PARIS))
        item.add("dtend", event["ends_at"].astimezone(PARIS))
        # STATUS:CANCELLED is not shown by every calendar app: the title says it too.
        cancelled = bool(event.get("cancelled_at"))
        item.add("summary", gettext("Annulé : %(title)s", title=event["title"]) if cancelled else event["title"])
        item.add("location", event["place"])
        item.add("url", f"{base_url}/posts/{event['id']}")
        if event.get("body"):
            item.add("description", event["body"][:2000])
        item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        rule = Rule.of(event)
        if rule and series and event["event_id"] in series:
            _repeat(item, rule, event["starts_at"].astimezone(PARIS), series[event["event_id"]])
        cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


def _repeat(item: VEvent, rule: Rule, start: datetime, dates: dict) -> None:
    """One VEVENT for the whole series: its RRULE, and an EXDATE (same TZID
    as DTSTART, as calendar apps expect) for each cancelled date."""
    item.add("rrule", rule.ical(start.replace(tzinfo=None), dates["count"]))
    if dates["cancelled"]:
        item.add("exdate", [moment.astimezone(PARIS) for moment in sorted(dates["cancelled"])])
