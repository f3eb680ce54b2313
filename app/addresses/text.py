"""How an address is written for matching, the same way for the imported file and for what a neighbour types.

Lower case, no accents, words and numbers apart ("12bis" is a number and a
suffix, "Saint-Maur" two words), abbreviations of street types and titles
spelled out from `abbreviations.csv` (La Poste / AFNOR forms plus the usual
handwritten ones), so "12 r. st maur" and "12 Rue Saint-Maur" meet.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ABBREVIATIONS_FILE = Path(__file__).with_name("abbreviations.csv")
STOPWORDS = frozenset({"de", "la", "le", "les", "du", "des", "d", "l", "a", "au", "aux", "et", "en", "sur"})
# BAN suffixes are codes ("b", "t", "q") in some communes and words ("bis") in others.
REP_CODES = {"bis": "b", "ter": "t", "quater": "q", "quinquies": "c"}
REP_WORDS = {code: word for word, code in REP_CODES.items()}
# "Paris 11e Arrondissement" is Paris to a neighbour (and to the BAN API's "city").
_ARRONDISSEMENT = re.compile(r"\s+\d+\s*(er|e|eme|ème)?\s+arrondissement$", re.IGNORECASE)
# A city whose arrondissements have their own postcodes: "paris 11" means 75011.
ARRONDISSEMENT_POSTCODES = {"paris": "750{:02d}", "lyon": "6900{:d}", "marseille": "130{:02d}"}
_TOKEN = re.compile(r"\d+|[a-z]+")


def _load_abbreviations() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    expand: dict[str, tuple[str, ...]] = {}
    types: set[str] = set()
    with ABBREVIATIONS_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            words = tuple(row["word"].split())
            if row["abbreviation"]:
                expand[row["abbreviation"]] = words
            if row["kind"] == "type":
                types.update(words)
    return expand, frozenset(types)


ABBREVIATIONS, STREET_TYPES = _load_abbreviations()


def fold(text: str) -> str:
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def expand(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for t in tokens:
        out.extend(ABBREVIATIONS.get(t, (t,)))
    return out


@lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    """The words that matter for matching: expanded, without "de", "la"…"""
    return tuple(w for w in expand(_TOKEN.findall(fold(text))) if w not in STOPWORDS)


def distinctive(name_words: tuple[str, ...]) -> tuple[str, ...]:
    """ "liberte" in Rue de la Liberté: what tells a street from the others (the type when nothing else)."""
    return tuple(w for w in name_words if w not in STREET_TYPES) or name_words


def forms(word: str) -> set[str]:
    """The word and, from four letters on, each form of it with one letter less. Two words one typing
    mistake apart (a letter dropped, added, replaced, or two swapped) share one of their forms."""
    if len(word) < 4:
        return {word}
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def city_name(commune: str) -> str:
    return _ARRONDISSEMENT.sub("", commune.strip())


@lru_cache(maxsize=1024)
def rep_code(rep: str) -> str:
    rep = fold(rep).strip()
    return REP_CODES.get(rep, rep)


def house_number(number: int, rep: str) -> str:
    """ "12 bis", "3 ter", "7 A": how the number reads on a letter."""
    if not rep:
        return str(number)
    code = rep_code(rep)
    return f"{number} {REP_WORDS.get(code, code.upper())}"


def department(insee: str) -> str:
    # Overseas départements have three digits (971…976); Corsica is 2A/2B.
    return insee[:3] if insee.startswith("97") else insee[:2]


@dataclass(frozen=True)
class Query:
    number: int | None
    rep: str  # canonical code, "" when none was typed
    postcode: str | None
    words: tuple[str, ...]  # the street and the town, expanded, without stopwords


def parse_query(text: str) -> Query:
    """ "12bis r de la liberte 21000" -> 12, "b", "21000", ("rue", "liberte")."""
    folded = fold(text)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    number = postcode = None
    rep = ""
    rest: list[str] = []
    i = 0
    if tokens and tokens[0][0].isdigit() and len(tokens[0][0]) <= 4:
        number = int(tokens[0][0])
        i = 1
        if len(tokens) > 1:
            suffix, start, _ = tokens[1]
            glued = start == tokens[0][2]
            # "12b" and "12 bis" carry a suffix; "12 r de la paix" does not ("r" is rue).
            if suffix in REP_CODES or (
                len(suffix) == 1 and suffix.isalpha() and (glued or suffix not in ABBREVIATIONS)
            ):
                rep = REP_CODES.get(suffix, suffix)
                i = 2
    for token, _, _ in tokens[i:]:
        if postcode is None and len(token) == 5 and token.isdigit():
            postcode = token
        else:
            rest.append(token)
    expanded = expand(rest)
    postcode = postcode or _arrondissement(expanded)
    return Query(number, rep, postcode, tuple(w for w in expanded if w not in STOPWORDS))


def _arrondissement(tokens: list[str]) -> str | None:
    for city, digits in zip(tokens, tokens[1:], strict=False):
        if city in ARRONDISSEMENT_POSTCODES and digits.isdigit() and 1 <= int(digits) <= 20:
            return ARRONDISSEMENT_POSTCODES[city].format(int(digits))
    return None


# How French is heard, roughly: what a person writes from the sound of a name
# ("rocket" for Roquette, "tor" for Taur, "lybertai" for Liberté).
_SOUNDS = [
    (re.compile(pattern), sound)
    for pattern, sound in [
        (r"ph", "f"),
        (r"qu|ck|q|c(?![eiy])", "k"),
        (r"c", "s"),
        (r"z", "s"),
        (r"y", "i"),
        (r"eau|au", "o"),
        (r"ai|ei|er$|ez$|et$", "e"),
        (r"h", ""),
        (r"(.)\1+", r"\1"),
        (r"[estx]+$", ""),
    ]
]


@lru_cache(maxsize=65536)
def sound(word: str) -> str:
    """A folded word as it sounds: "roquette" and "rocket" both give "rok"."""
    for pattern, replacement in _SOUNDS:
        word = pattern.sub(replacement, word)
    return word
