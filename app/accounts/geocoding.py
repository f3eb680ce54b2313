"""Address check: a geocoder turns what the user typed into candidate points.

Two implementations: the project's own database (the Base Adresse Nationale
imported by `voisinage import-addresses`, the demo's addresses by `--demo`;
see app/addresses), and the Base Adresse Nationale API over the internet
(`VOISINAGE_GEOCODER=ban`). Candidates travel through the form HMAC-signed, so
the point posted back is the one the geocoder found, not one the browser made up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol

import httpx

from app.addresses import search as addresses


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

    async def suggest(self, query: str) -> list[Candidate]:
        """What the search did not find may be a name written as it sounds: the nearest ones."""
        ...


class DatabaseGeocoder:
    """The addresses imported into the project's own database: no network, every address of the imported départements."""

    async def search(self, query: str, limit: int = 5) -> list[Candidate]:
        return [
            Candidate(f.label, f.lat, f.lon, f.postcode, f.city, f.score) for f in await addresses.search(query, limit)
        ]

    async def suggest(self, query: str) -> list[Candidate]:
        return [Candidate(f.label, f.lat, f.lon, f.postcode, f.city, f.score) for f in await addresses.suggest(query)]


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

    async def suggest(self, query: str) -> list[Candidate]:
        # The API's own search already answers with what is nearest.
        return []


def _from_feature(feature: dict) -> Candidate | None:
    props = feature["properties"]
    # A whole town's centroid is not anyone's address: it would drop the user in the town-hall's neighbourhood.
    if props.get("type") == "municipality":
        return None
    lon, lat = (float(v) for v in feature["geometry"]["coordinates"][:2])
    return Candidate(
        label=str(props["label"]),
        lat=lat,
        lon=lon,
        postcode=str(props.get("postcode", "")),
        city=str(props.get("city", "")),
        score=float(props.get("score", 0)),
    )


def make_geocoder(settings) -> Geocoder:
    if settings.geocoder == "ban":
        return BanGeocoder(settings.ban_url)
    # "gazetteer" was the embedded list of demo streets: those are now addresses in the database like any other.
    if settings.geocoder in ("database", "gazetteer"):
        return DatabaseGeocoder()
    raise ValueError(f"unknown geocoder {settings.geocoder!r} (expected 'database' or 'ban')")


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
        return Candidate(
            label=str(data["label"]),
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            postcode=str(data["postcode"]),
            city=str(data["city"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
