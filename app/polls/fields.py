"""The « Ajouter un sondage » fields of a discussion's form: read, checked,
and their starting values. Used by the posts' routes when a discussion is
written or edited."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.forms import Form
from app.i18n import _
from app.polls.queries import PollDraft

PARIS = ZoneInfo("Europe/Paris")
MAX_OPTIONS = 6
OPTION_FIELDS = tuple(f"poll_option_{n}" for n in range(1, MAX_OPTIONS + 1))
DEFAULT_DAYS = 7
_NUMBERED = re.compile(r"poll_option_(\d{1,3})")


def _three_months_after(day: date) -> date:
    month = day.month + 3
    year, month = day.year + (month - 1) // 12, (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _today() -> date:
    return datetime.now(PARIS).date()


def defaults() -> dict:
    """A new discussion's poll fields: one choice, closing in a week."""
    return {"poll_multiple": "0", "poll_closes_on": (_today() + timedelta(days=DEFAULT_DAYS)).isoformat()}


def from_poll(poll: dict, options: list[dict]) -> dict:
    data = {f"poll_option_{i}": o["label"] for i, o in enumerate(options, start=1)}
    data["poll_multiple"] = "1" if poll["multiple"] else "0"
    data["poll_closes_on"] = poll["closes_at"].astimezone(PARIS).date().isoformat()
    return data


def wanted(form: Form) -> bool:
    """Whether the neighbour filled in any option: the poll is optional."""
    return any(form[key].strip() for key in form.data if _NUMBERED.fullmatch(key))


def read_poll(form: Form) -> PollDraft | None:
    """The poll, or None with each problem written next to its field."""
    extra = [k for k in form.data if _NUMBERED.fullmatch(k) and k not in OPTION_FIELDS and form[k].strip()]
    if extra:
        form.error("poll_options", _("Six options au plus."))
    labels: list[str] = []
    seen: dict[str, str] = {}
    filled = [bool(form[k].strip()) for k in OPTION_FIELDS]
    last_filled = max((i for i, f in enumerate(filled) if f), default=-1)
    for i, key in enumerate(OPTION_FIELDS):
        label = form.text(key, max_length=100, required=i <= last_filled)
        if key in form.errors or not label:
            if i <= last_filled and key in form.errors and not label:
                form.errors[key] = _("Cette option est vide : écrivez-la, ou laissez vides les dernières.")
            continue
        same = "".join(label.split()).casefold()
        if same in seen:
            form.error(key, _("Cette option est déjà proposée."))
            continue
        seen[same] = key
        labels.append(label)
    if len(labels) < 2 and not any(key in form.errors for key in OPTION_FIELDS):
        form.error(OPTION_FIELDS[len(labels)], _("Un sondage propose au moins deux options."))
    multiple = form.choice("poll_multiple", ("0", "1"), default="0") == "1"
    closes_on = form.day("poll_closes_on")
    if closes_on and closes_on < _today():
        form.error("poll_closes_on", _("Cette date est déjà passée."))
    elif closes_on and closes_on > _three_months_after(_today()):
        form.error("poll_closes_on", _("Trois mois au plus après aujourd'hui."))
    if form.errors:
        return None
    closes_at = datetime.combine(closes_on, time(23, 59), PARIS)
    return PollDraft(labels=labels, multiple=multiple, closes_at=closes_at)
