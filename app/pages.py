"""Pages that belong to no domain: landing, privacy, health check, metrics."""

from __future__ import annotations

import hashlib
import json
import logging

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Response as PlainResponse

from app import metrics
from app.neighbourhoods.tables import Neighbourhood
from app.notify import outbox
from app.settings import ROOT
from app.space import short_of_space
from app.templating import static_url
from app.web import render, see_other


@get("/", name="landing")
async def landing(request: Request) -> Response:
    if request.user is not None or request.scope.get("signup_pending"):
        return see_other("/feed")
    return render(request, "pages/landing.html")


@get("/privacy")
async def privacy(request: Request) -> Response:
    return render(request, "pages/privacy.html")


@get("/healthz", cache_control=None)
async def healthz(request: Request) -> PlainResponse:
    headers = {"Cache-Control": "no-store"}
    try:
        await Neighbourhood.select(Neighbourhood.id).limit(1)
    except Exception:
        return PlainResponse(content={"status": "error", "database": "unreachable"}, status_code=503, headers=headers)
    if short_of_space(request.app.state.settings):
        # Pages still show, but nothing new can be saved: the operator must know.
        return PlainResponse(
            content={"status": "error", "database": "ok", "disk": "full"}, status_code=503, headers=headers
        )
    return PlainResponse(content={"status": "ok", "database": "ok", "disk": "ok"}, headers=headers)


@get("/ping", cache_control=None, media_type="text/plain")
async def ping() -> str:
    """Liveness without the database: what a load balancer probes, and the
    plaintext baseline the feed benchmark compares against."""
    return "pong"


@get("/metrics", cache_control=None)
async def metrics_page(request: Request) -> PlainResponse:
    """Prometheus' scrape, for the addresses of VOISINAGE_METRICS_ALLOW only:
    to anyone else it does not exist."""
    if not metrics.may_scrape(request, request.app.state.settings.metrics_allow):
        raise NotFoundException()
    try:
        pending, oldest_due = await outbox.backlog()
    except Exception:  # noqa: BLE001 - the process's own numbers still tell the operator something
        logging.getLogger("voisinage.metrics").exception("outbox unreadable")
        pending = oldest_due = float("nan")
    metrics.OUTBOX_PENDING.set(pending)
    metrics.OUTBOX_OLDEST_DUE.set(oldest_due)
    return PlainResponse(
        content=metrics.exposition(), media_type=metrics.MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )


@get("/manifest.webmanifest", cache_control=None)
async def manifest() -> PlainResponse:
    return PlainResponse(
        content=(ROOT / "manifest.webmanifest").read_bytes(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/sw.js", cache_control=None)
async def service_worker() -> PlainResponse:
    """The service worker, with the versioned asset URLs it caches at install:
    a new CSS or htmx version makes a new worker, which drops the old cache."""
    assets = [static_url(name) for name in ("app.css", "htmx.min.js", "app.js", "icons/icon.svg", "icons/icon-192.png")]
    version = hashlib.sha256("".join(assets).encode()).hexdigest()[:12]
    body = (
        f"const VERSION = {json.dumps(version)};\nconst ASSETS = {json.dumps(assets)};\n"
        + (ROOT / "static" / "sw.js").read_text()
    )
    return PlainResponse(
        content=body, media_type="text/javascript", headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    )


@get("/offline")
async def offline(request: Request) -> Response:
    # The service worker keeps this page for whoever next uses the device: it
    # is rendered as for nobody (no navigation, name or CSRF token of the
    # person whose visit cached it).
    request.scope["user"] = None
    request.scope["signup_pending"] = False
    return render(
        request, "pages/offline.html", {"anonymous": True}, headers={"Cache-Control": "private, max-age=3600"}
    )


ROUTES = [landing, privacy, healthz, ping, metrics_page, manifest, service_worker, offline]
