"""What this process has done, for Prometheus: requests by route pattern,
method and status class, push and mail failures, and the push outbox read
from the database when /metrics is scraped (app.pages).

Each process counts its own requests and failures; a scraper reads every
process on its own port and adds them up. Labels name route patterns
(`/posts/{post_id:int}`), never paths, so their number stays that of the
routes whatever clients ask for."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache

from litestar import Request
from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# A `_created` twin of every series doubles what is stored for a date Prometheus does not need.
disable_created_metrics()

# A request the router could not place (no such path, or not with that method).
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "voisinage_http_requests",
    "HTTP requests answered, by route pattern, method and status class",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "voisinage_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route pattern, method and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Where a balancer sends each request to the process with the fewest under
# way (docs/deploy.md), one holding many for long is a stuck one.
IN_PROGRESS = Gauge(
    "voisinage_http_requests_in_progress", "HTTP requests this process is answering now, live streams included"
)
PUSH_FAILURES = Counter(
    "voisinage_push_failures",
    "Push attempts that did not deliver, by outcome: retry (tried again later), "
    "failed (given up after the last try), gone (the push service dropped the subscription)",
    ["outcome"],
)
MAIL_FAILURES = Counter("voisinage_mail_failures", "Mails the SMTP server did not take")
OUTBOX_PENDING = Gauge("voisinage_push_outbox_pending", "Push deliveries not sent yet (due now or waiting for a retry)")
OUTBOX_OLDEST_DUE = Gauge(
    "voisinage_push_outbox_oldest_due_seconds",
    "How long the push delivery due the longest has waited since it fell due (0: none is due); "
    "it grows while no worker sends",
)
# Unknown (NaN) until a scrape of a server's /metrics reads the outbox; a
# worker's own endpoint never does (every server's tells the same figure).
OUTBOX_PENDING.set(float("nan"))
OUTBOX_OLDEST_DUE.set(float("nan"))

# What a proxy adds to what it forwards (Caddy and nginx's usual set-ups).
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@cache  # as many as the series: routes × methods × status classes
def _series(route: str, method: str, status_class: str) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(route, method, status_class), DURATION.labels(route, method, status_class)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    count, duration = _series(route, method if method in METHODS else "other", f"{status // 100}xx")
    count.inc()
    duration.observe(seconds)


def may_scrape(request: Request, allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Only the peer of the connection counts, and only when it asks for
    itself: a proxy in front passes everyone's requests from its own address
    (often 127.0.0.1), so a request it forwarded is refused whatever that
    address. Scrapers reach each process directly on its port."""
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in network for network in allowed)


# The text format every Prometheus reads (Litestar adds "; charset=utf-8").
MEDIA_TYPE = "text/plain; version=0.0.4"


def exposition() -> bytes:
    """Every metric of this process in the text format, the client's own
    process_* and python_* ones included."""
    return generate_latest(REGISTRY)
