"""The event's panel on its post's page: when, where, who comes, and the
signup button. The post page (app.posts.page) asks for it; the signup routes
render it alone for htmx."""

from __future__ import annotations

from datetime import datetime, timezone

from app.access import is_author
from app.accounts.tables import User
from app.events import queries
from app.events.recurrence import PARIS, Rule
from app.i18n import N_, gettext, ngettext

# Weekday names for "le 2e mardi du mois" (Monday first, as datetime.weekday()).
_WEEKDAYS = (N_("lundi"), N_("mardi"), N_("mercredi"), N_("jeudi"), N_("vendredi"), N_("samedi"), N_("dimanche"))
_ORDINALS = {1: N_("1er"), 2: N_("2e"), 3: N_("3e"), 4: N_("4e")}


async def panel_for_post(post: dict, viewer: User, error: str = "") -> dict | None:
    """The panel's context, or None when the post is no event."""
    if post["kind"] != "event":
        return None
    event = await queries.for_post(post["id"])
    if event is None:
        return None
    return await panel(event, post, viewer, error)


async def panel(event: dict, post: dict, viewer: User, error: str = "") -> dict:
    now = datetime.now(timezone.utc)
    left = None if event["capacity"] is None else max(0, event["capacity"] - event["going_count"])
    return {
        "event": event,
        "event_post": post,
        # A series has its seats date by date, in the list of its next dates.
        "my_signup": None if event["repeat"] else await queries.my_signup(event["id"], viewer.id),
        "attendees": [] if event["repeat"] else await queries.attendees(event["id"]),
        "places_left": left,
        "event_closed": event["cancelled_at"] is not None or event["starts_at"] <= now,
        "event_error": error,
        "organiser": is_author(viewer, post),
        **(await _series(event, viewer, now)),
    }


async def _series(event: dict, viewer: User, now: datetime) -> dict:
    """The next dates of a recurring event, each with its own seats and the viewer's signup."""
    rule = Rule.of(event)
    if rule is None:
        return {"occurrences": None}
    upcoming = await queries.next_occurrences(event["id"], now)
    mine = await queries.my_occurrence_signups(event["id"], [o["id"] for o in upcoming], viewer.id)
    dates = [
        {
            **o,
            "my_signup": mine.get(o["id"]),
            "places_left": None if event["capacity"] is None else max(0, event["capacity"] - o["going_count"]),
            "closed": bool(o["cancelled_at"] or event["cancelled_at"]) or o["starts_at"] <= now,
        }
        for o in upcoming
    ]
    return {"occurrences": dates, "rule_text": rule_text(rule, event["starts_at"])}


def rule_text(rule: Rule, starts_at: datetime) -> str:
    """« Chaque semaine », « Le 2e mardi du mois », « Le dernier samedi du mois »."""
    day = gettext(_WEEKDAYS[starts_at.astimezone(PARIS).weekday()])
    if rule.repeat == "weekly":
        if rule.interval == 1:
            return gettext("Chaque semaine, le %(day)s", day=day)
        return ngettext(
            "Toutes les %(num)s semaines, le %(day)s", "Toutes les %(num)s semaines, le %(day)s", rule.interval, day=day
        )
    if rule.nth == -1:
        return gettext("Le dernier %(day)s du mois", day=day)
    return gettext("Le %(nth)s %(day)s du mois", nth=gettext(_ORDINALS[rule.nth]), day=day)
