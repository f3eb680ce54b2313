"""Reading and checking submitted forms.

A Form keeps what the user typed (to put it back in the page) and one French
message per field; handlers answer 422 with both when `form.errors` is set.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from app.i18n import _

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
# Control characters have no place in names or posts and break some mail clients.
# Bidirectional controls (U+202A–U+202E, U+2066–U+2069) make text read unlike
# the characters it holds (a name or a link shown backwards), and invisible
# characters (zero-width U+200B–U+200F, word joiner U+2060, byte order mark
# U+FEFF) make two names look alike or a blank name look filled in: text must
# be what it looks like.
CONTROL_RE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
# The zero-width joiner is how a family or a rainbow flag emoji is written: one
# picture on screen, so between two emoji it stays; anywhere else it goes.
_EMOJI = "\u2600-\u27bf\U0001f000-\U0001faff"
STRAY_JOINER_RE = re.compile(rf"(?<![{_EMOJI}\ufe0f])\u200d|\u200d(?![{_EMOJI}])")


class Form:
    def __init__(self, data: Any | None = None) -> None:
        self.data: dict[str, str] = {}
        if data is not None:
            for key in data:
                value = data.get(key)
                if isinstance(value, str):
                    self.data[key] = value
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> str:
        return self.data.get(key, "")

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def text(
        self, field: str, *, max_length: int, required: bool = True, min_length: int = 0, multiline: bool = False
    ) -> str:
        raw = self.data.get(field, "")
        # Invisible characters go first, so what they separated composes too.
        value = unicodedata.normalize("NFC", STRAY_JOINER_RE.sub("", CONTROL_RE.sub("", raw)))
        value = value.strip() if multiline else " ".join(value.split())
        if multiline:
            value = value.replace("\r\n", "\n")
        self.values[field] = value
        if not value:
            if required:
                self.error(field, _("Ce champ est obligatoire."))
        elif len(value) > max_length:
            self.error(field, _("%(n)s caractères au plus (vous en avez écrit %(m)s).", n=max_length, m=len(value)))
        elif len(value) < min_length:
            self.error(field, _("%(n)s caractères au moins.", n=min_length))
        return value

    def email(self, field: str = "email") -> str:
        value = self.text(field, max_length=254).lower()
        if field not in self.errors and not EMAIL_RE.match(value):
            self.error(field, _("Cette adresse e-mail n'est pas valide (exemple : claire@exemple.fr)."))
        self.values[field] = value
        return value

    def choice(
        self, field: str, choices: tuple[str, ...] | list[str], *, required: bool = True, default: str = ""
    ) -> str:
        value = self.data.get(field, default).strip()
        if not value and not required:
            return default
        if value not in choices:
            self.error(field, _("Choisissez une des options proposées."))
        return value

    def integer(self, field: str, *, minimum: int, maximum: int, required: bool = True) -> int | None:
        raw = self.data.get(field, "").strip()
        if not raw:
            if required:
                self.error(field, _("Ce champ est obligatoire."))
            return None
        try:
            value = int(raw)
        except ValueError:
            self.error(field, _("Indiquez un nombre entier."))
            return None
        if not minimum <= value <= maximum:
            self.error(field, _("Indiquez un nombre entre %(a)s et %(b)s.", a=minimum, b=maximum))
            return None
        return value

    def _raw_required(self, field: str) -> str:
        raw = self.data.get(field, "").strip()
        self.values[field] = raw
        if not raw:
            self.error(field, _("Ce champ est obligatoire."))
        return raw

    def day(self, field: str) -> date | None:
        """A date field (YYYY-MM-DD, as browsers send it)."""
        raw = self._raw_required(field)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.error(field, _("Indiquez une date (jj/mm/aaaa)."))
            return None

    def local_datetime(self, field: str, zone: tzinfo) -> datetime | None:
        """A datetime-local field, read as the time of `zone`, returned in UTC."""
        raw = self._raw_required(field)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw.replace(" ", "T"))
        except ValueError:
            self.error(field, _("Indiquez une date et une heure (jj/mm/aaaa hh:mm)."))
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(timezone.utc)
