"""Civility nudge: before a neighbour sends a post or a reply that could
hurt, the form asks once whether to rephrase. A French word list plus a few
rules, no external service.

Recognising words is text work, like app.search: it stands on that floor so
that posts ask it without entering moderation, whose reports and actions
come after something was sent."""

from __future__ import annotations

import re
import unicodedata

# Insults stored without accents; matched on whole words of the accent-free text.
_INSULTS = {
    "connard",
    "connards",
    "connasse",
    "salaud",
    "salauds",
    "salope",
    "encule",
    "encules",
    "abruti",
    "abrutis",
    "cretin",
    "cretins",
    "debile",
    "debiles",
    "batard",
    "batards",
    "ordure",
    "ordures",
    "pourriture",
    "enfoire",
    "enfoires",
    "pute",
    "merde",
    "fdp",
    "ntm",
    "tocard",
    "tocards",
    "imbecile",
    "imbeciles",
    "idiot",
    "idiots",
    "minable",
    "degage",
    "ferme-la",
    "fermela",
    "raclure",
    "sous-merde",
    "gros con",
    "con",
    "cons",
}
_THREAT = re.compile(
    r"\bje\s+(vais|v(a|ai)s)\s+(te|vous)\s+(tuer|buter|defoncer|casser|frapper|retrouver|cramer|niquer|faire la peau)",
)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def needs_nudge(text: str) -> bool:
    """True when the text looks aggressive enough to ask "Voulez-vous reformuler ?" once."""
    if not text:
        return False
    plain = _plain(text)
    words = set(re.findall(r"[a-z]+(?:-[a-z]+)*", plain))
    if words & _INSULTS or "gros con" in plain:
        return True
    if _THREAT.search(plain):
        return True
    if re.search(r"[!?]{3,}", text):
        return True
    letters = [c for c in text if c.isalpha()]
    return bool(len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7)
