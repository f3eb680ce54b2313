"""A local stand-in for the Base Adresse Nationale /search/ API.

A real HTTP server on 127.0.0.1 answering in the BAN's GeoJSON format with the
candidates a test hands it for each query (the test takes them from the
database geocoder), so BanGeocoder is exercised end to end (socket, query
string, JSON parsing). Other modes reproduce the failures the client must survive.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from app.accounts.geocoding import Candidate
from app.addresses.text import words

MODES = ("ok", "error", "hang", "malformed")
CITIES = {
    "dijon": ("Dijon", "21000", 47.3216, 5.0415),
    "toulouse": ("Toulouse", "31000", 43.6045, 1.4440),
    "paris": ("Paris", "75001", 48.8589, 2.3470),
}


def _feature(label: str, lat: float, lon: float, postcode: str, city: str, score: float, kind: str) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": label,
            "score": score,
            "postcode": postcode,
            "city": city,
            "type": kind,
            "name": label.split(",")[0],
            "context": "stand-in",
        },
    }


def answer(query: str, limit: int, known: Mapping[str, list[Candidate]]) -> dict:
    if " ".join(words(query)) in CITIES:
        # The real API answers a bare town name with the town itself.
        city, postcode, lat, lon = CITIES[" ".join(words(query))]
        features = [_feature(city, lat, lon, postcode, city, 0.95, "municipality")]
    else:
        features = [
            _feature(
                c.label, c.lat, c.lon, c.postcode, c.city, c.score, "housenumber" if c.label[0].isdigit() else "street"
            )
            for c in known.get(query, [])[:limit]
        ]
    return {
        "type": "FeatureCollection",
        "version": "draft",
        "features": features,
        "attribution": "BAN",
        "licence": "ETALAB-2.0",
        "query": query,
        "limit": limit,
    }


@contextmanager
def run_ban_standin(mode: str = "ok", known: Mapping[str, list[Candidate]] | None = None) -> Iterator[str]:
    """Yields the base URL ("http://127.0.0.1:PORT/search/") of a server in the given mode,
    answering each query of `known` with its candidates (and any other with none)."""
    assert mode in MODES, mode
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/search/":
                return self._send(404, b'{"code":404,"message":"Not found"}')
            if mode == "error":
                return self._send(500, b'{"code":500,"message":"Internal server error"}')
            if mode == "hang":
                released.wait(30)  # longer than any client timeout; released when the test ends
                return
            if mode == "malformed":
                return self._send(200, b'{"type": "FeatureCollection", "features": [{"geometry": ')
            params = parse_qs(url.query)
            body = answer(params.get("q", [""])[0], int(params.get("limit", ["5"])[0]), known or {})
            self._send(200, json.dumps(body, ensure_ascii=False).encode())

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/search/"
    finally:
        released.set()
        server.shutdown()
        server.server_close()
        thread.join()
