"""Pages that belong to no domain: landing, privacy, health check."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.response import Response as PlainResponse

from app.neighbourhoods.tables import Neighbourhood
from app.web import render, see_other


@get("/", name="landing")
async def landing(request: Request) -> Response:
    if request.user is not None:
        return see_other("/feed")
    return render(request, "pages/landing.html")


@get("/privacy")
async def privacy(request: Request) -> Response:
    return render(request, "pages/privacy.html")


@get("/healthz", cache_control=None)
async def healthz() -> PlainResponse:
    try:
        await Neighbourhood.select(Neighbourhood.id).limit(1)
    except Exception:
        return PlainResponse(content={"status": "error", "database": "unreachable"}, status_code=503)
    return PlainResponse(content={"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})


@get("/ping", cache_control=None, media_type="text/plain")
async def ping() -> str:
    """Liveness without the database: what a load balancer probes, and the
    plaintext baseline the feed benchmark compares against."""
    return "pong"


ROUTES = [landing, privacy, healthz, ping]
