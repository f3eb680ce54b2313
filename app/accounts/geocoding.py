"""Address check: a geocoder turns what the user typed into candidate points.

Two implementations: the embedded gazetteer (streets of the demo cities,
shipped in the package, so a fresh install needs no network) and the Base
Adresse Nationale API. Candidates travel through the form HMAC-signed, so the
point posted back is the one the geocoder found, not one the browser made up.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import httpx

GAZETTEER = Path(__file__).with_name("gazetteer.csv")

ABBREVIATIONS = {
    "r": "rue", "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard", "boul": "boulevard",
    "pl": "place", "fg": "faubourg", "fbg": "faubourg", "st": "saint", "ste": "sainte", "imp": "impasse",
    "all": "allees", "chem": "chemin", "qu": "quai", "rte": "route", "sq": "square", "crs": "cours",
}
STOPWORDS = {"de", "la", "le", "les", "du", "des", "d", "l", "a", "au", "aux", "et", "en", "sur"}
STREET_TYPES = {"rue", "avenue", "boulevard", "place", "faubourg", "impasse", "allees", "allee", "chemin", "quai",
                "route", "square", "cours", "passage"}
# A house number beyond the street's known range still finds the street, just less surely.
OUT_OF_RANGE_PENALTY = 0.2


@dataclass(frozen=True)
class Candidate:
    label: str  # "12 Rue de la Liberté, 21000 Dijon"
    lat: float
    lon: float
    postcode: str
    city: str
    score: float = 1.0


class GeocoderUnavailable(Exception):
    """The address service cannot answer right now (network, timeout, bad reply)."""


class Geocoder(Protocol):
    async def search(self, query: str, limit: int = 5) -> list[Candidate]: ...


def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    # Digits and letters apart, so "12bis" is a number and a suffix.
    return [ABBREVIATIONS.get(t, t) for t in re.findall(r"\d+|[a-z]+", text)]


@dataclass(frozen=True)
class _Street:
    name: str
    postcode: str
    city: str
    first: int
    last: int
    a: tuple[float, float]
    b: tuple[float, float]
    names: frozenset[str]  # the distinctive words: "liberte", not "rue"
    known: frozenset[str]  # every word a query may legitimately use for it

    def gap(self, number: int | None) -> int:
        return 0 if number is None else max(self.first - number, number - self.last, 0)

    def point(self, number: int | None) -> tuple[float, float]:
        if number is None or self.last == self.first:
            t = 0.5
        else:
            t = (min(max(number, self.first), self.last) - self.first) / (self.last - self.first)
        return self.a[0] + (self.b[0] - self.a[0]) * t, self.a[1] + (self.b[1] - self.a[1]) * t


@lru_cache(maxsize=1)
def _streets() -> tuple[_Street, ...]:
    with GAZETTEER.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    streets = []
    for r in rows:
        words = frozenset(normalise(r["street"])) - STOPWORDS
        streets.append(_Street(
            name=r["street"], postcode=r["postcode"], city=r["city"],
            first=int(r["number_from"]), last=int(r["number_to"]),
            a=(float(r["lat_from"]), float(r["lon_from"])), b=(float(r["lat_to"]), float(r["lon_to"])),
            names=words - STREET_TYPES, known=words | frozenset(normalise(r["city"])) | {r["postcode"]},
        ))
    return tuple(streets)


class GazetteerGeocoder:
    async def search(self, query: str, limit: int = 5) -> list[Candidate]:
        return self.search_sync(query, limit)

    def search_sync(self, query: str, limit: int = 5) -> list[Candidate]:
        if len(query.strip()) < 3:
            return []
        number = postcode = None
        words: list[str] = []
        for t in normalise(query):
            if re.fullmatch(r"\d{5}", t):
                postcode = t
            elif t.isdigit() and number is None:
                number = int(t)
            elif t in ("bis", "ter") and number is not None:
                continue
            elif t not in STOPWORDS:
                words.append(t)
        if not words:
            return []
        # Per label the best row wins: a street split into rows keeps the row holding (or nearest) the number.
        best: dict[str, tuple[float, int, Candidate]] = {}
        for street in _streets():
            if postcode and postcode != street.postcode:
                continue
            score = _score(words, street)
            if score is None:
                continue
            gap = street.gap(number)
            if gap:
                score -= OUT_OF_RANGE_PENALTY
            lat, lon = street.point(number)
            where = f"{street.postcode} {street.city}"
            label = f"{number} {street.name}, {where}" if number is not None else f"{street.name}, {where}"
            candidate = Candidate(label, round(lat, 6), round(lon, 6), street.postcode, street.city, round(score, 3))
            if label not in best or (score, -gap) > best[label][:2]:
                best[label] = (score, -gap, candidate)
        found = sorted((c for _, _, c in best.values()), key=lambda c: (-c.score, c.label))
        return found[:limit]


def _score(words: list[str], street: _Street) -> float | None:
    """Share of the street's distinctive words found, blended with share of query words explained."""
    last = len(words) - 1

    def hit(i: int, word: str, pool: frozenset[str]) -> bool:
        # The last word may still be being typed: "place darc" finds Place Darcy.
        return word in pool or (i == last and len(word) >= 2 and any(p.startswith(word) for p in pool))

    if not street.names:
        return None
    name_hits = sum(1 for n in street.names if any(hit(i, w, frozenset([n])) for i, w in enumerate(words)))
    matched = sum(1 for i, w in enumerate(words) if hit(i, w, street.known))
    if name_hits / len(street.names) < 0.5 or matched / len(words) < 0.6:
        return None
    return 0.6 * name_hits / len(street.names) + 0.4 * matched / len(words)


class BanGeocoder:
    """The Base Adresse Nationale search API (a GeoJSON FeatureCollection)."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None, timeout: float = 3.0) -> None:
        self.base_url = base_url
        self.client = client
        self.timeout = timeout

    async def search(self, query: str, limit: int = 5) -> list[Candidate]:
        if len(query.strip()) < 3:
            return []
        params = {"q": query.strip()[:200], "limit": str(limit)}
        try:
            if self.client is not None:
                response = await self.client.get(self.base_url, params=params, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.base_url, params=params)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise GeocoderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise GeocoderUnavailable(f"status {response.status_code}")
        try:
            return [c for c in map(_from_feature, response.json()["features"]) if c][:limit]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise GeocoderUnavailable(f"malformed answer: {exc!r}") from exc


def _from_feature(feature: dict) -> Candidate | None:
    props = feature["properties"]
    # A whole town's centroid is not anyone's address: it would drop the user in the town-hall's neighbourhood.
    if props.get("type") == "municipality":
        return None
    lon, lat = (float(v) for v in feature["geometry"]["coordinates"][:2])
    return Candidate(label=str(props["label"]), lat=lat, lon=lon, postcode=str(props.get("postcode", "")),
                     city=str(props.get("city", "")), score=float(props.get("score", 0)))


def make_geocoder(settings) -> Geocoder:
    if settings.geocoder == "ban":
        return BanGeocoder(settings.ban_url)
    if settings.geocoder == "gazetteer":
        return GazetteerGeocoder()
    raise ValueError(f"unknown geocoder {settings.geocoder!r} (expected 'gazetteer' or 'ban')")


def _mac(payload: bytes, secret: str) -> bytes:
    # The prefix keeps this MAC from ever being valid for another signed value of the app.
    return hmac.new(secret.encode(), b"candidate:" + payload, hashlib.sha256).digest()[:16]


def sign_candidate(candidate: Candidate, secret: str) -> str:
    data = {k: getattr(candidate, k) for k in ("label", "lat", "lon", "postcode", "city")}
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(_mac(payload, secret) + payload).decode().rstrip("=")


def unsign_candidate(value: str, secret: str) -> Candidate | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        mac, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, _mac(payload, secret)):
            return None
        data = json.loads(payload)
        return Candidate(label=str(data["label"]), lat=float(data["lat"]), lon=float(data["lon"]),
                         postcode=str(data["postcode"]), city=str(data["city"]))
    except (ValueError, KeyError, TypeError):
        return None
