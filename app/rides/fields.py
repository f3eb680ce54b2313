"""A ride's fields as a neighbour fills them in: where from, where to, when,
how many seats, and the way back for a return trip. French messages at the
field; times are Paris times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.forms import Form
from app.i18n import _

PARIS = ZoneInfo("Europe/Paris")
MAX_SEATS = 8
FIELDS = ("origin", "destination", "departs_at", "seats", "trip", "returns_at")
TRIPS = ("one_way", "return")


def read_ride(form: Form) -> dict:
    """The ride's values; `form.errors` says what to fix."""
    origin = form.text("origin", max_length=120)
    destination = form.text("destination", max_length=120)
    departs_at = _future(form, "departs_at")
    seats = form.integer("seats", minimum=1, maximum=MAX_SEATS)
    trip = form.choice("trip", TRIPS, required=False, default="one_way")
    returns_at = None
    if trip == "return":
        returns_at = _future(form, "returns_at")
        if returns_at and departs_at and returns_at <= departs_at:
            form.error("returns_at", _("Le retour doit venir après l'aller."))
    return {
        "origin": origin,
        "destination": destination,
        "departs_at": departs_at,
        "seats": seats,
        "returns_at": returns_at,
    }


def form_values(ride: dict) -> dict:
    """The edit form's fields, as the driver typed them (Paris times)."""
    fmt = "%Y-%m-%dT%H:%M"
    returns = ride["returns_at"]
    return {
        "origin": ride["origin"],
        "destination": ride["destination"],
        "departs_at": ride["departs_at"].astimezone(PARIS).strftime(fmt),
        "seats": str(ride["seats"]),
        "trip": "return" if returns else "one_way",
        "returns_at": returns.astimezone(PARIS).strftime(fmt) if returns else "",
    }


def _future(form: Form, field: str) -> datetime | None:
    value = form.local_datetime(field, PARIS)
    now = datetime.now(timezone.utc)
    if value and value <= now:
        form.error(field, _("Cette date est déjà passée."))
    elif value and value > now + timedelta(days=365):
        form.error(field, _("Un an à l'avance au plus."))
    return value
