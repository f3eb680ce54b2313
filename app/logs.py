"""Logs as one JSON object a line on stderr: the access line of each request
and every other line (the voisinage.* loggers, uvicorn's), each carrying the
id of the request it was written in, if any.

Nothing personal goes into a line. The access line names the route pattern
(`/posts/{post_id:int}`), never the path or its query string, and the person
by account id only; messages name rows by id, never by email, name or
address; and what an exception may quote (PostgreSQL's DETAIL repeats the
offending row, an SMTP refusal the recipient) is left out.

The request id is the `X-Request-ID` a proxy sent when it is a sane token
(Caddy's `{http.request.uuid}`), so that its log and ours meet; otherwise a
new one. It comes back in the `X-Request-ID` header of every answer.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from structlog.contextvars import bound_contextvars

from app import metrics

HEADER = b"x-request-id"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Written by structlog itself, not through the logging module: a line per
# request costs a third of what a logging record formatted by structlog does.
access = structlog.get_logger()

# PostgreSQL's DETAIL lines quote the values of the row that broke a
# constraint (an email already taken, a whole row missing a value).
_DETAIL = re.compile(r"\n?DETAIL: .*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def request_id(incoming: str | None) -> str:
    if incoming and SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _scrub(_logger, _name, event: dict) -> dict:
    for key in ("event", "exception"):
        if isinstance(event.get(key), str):
            event[key] = _EMAIL.sub("[email]", _DETAIL.sub("", event[key]))
    return event


LEADING = ("time", "level", "logger", "message", "request_id")


def _leading_keys_first(_logger, _name, event: dict) -> dict:
    # Read by people too: every line opens the same way.
    return {**{key: event.pop(key) for key in LEADING if key in event}, **event}


def configure(level: int = logging.INFO) -> None:
    """Once per process, by `voisinage serve` and `voisinage worker`: the
    access lines, and every record that reaches the root logger, written to
    stderr as JSON. An app made without it (the in-process tests) writes no
    access line."""
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True, key="time")
    render = [
        structlog.processors.EventRenamer("message"),
        _leading_keys_first,
        structlog.processors.JSONRenderer(ensure_ascii=False),
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level, stamp, *render],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            stamp,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _scrub,
            *render,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("voisinage").setLevel(level)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def observed(app, *, access_log: bool = True):
    """Middleware around the whole application: the request id (bound for
    every line logged while the request runs, and sent back), the access
    line and the request metrics. It sees the scope the router fills in (the
    route pattern) and the session middleware (the person)."""

    async def observe(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = request_id(_header(scope, HEADER))
        status = 500  # what the server answers when the application fails to
        answered = None

        async def send_with_id(message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, rid.encode())]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = time.perf_counter()
            await send(message)

        start = time.perf_counter()
        metrics.IN_PROGRESS.inc()
        with bound_contextvars(request_id=rid):
            try:
                await app(scope, receive, send_with_id)
            finally:
                metrics.IN_PROGRESS.dec()
                # Until the last byte of the answer: a mail sent after it (a
                # background task) is not what the person waited for.
                seconds = (answered or time.perf_counter()) - start
                route = scope.get("path_template") or metrics.UNMATCHED
                method = scope.get("asked_method", scope["method"])
                metrics.observe_request(route, method, status, seconds)
                if access_log and structlog.is_configured():
                    access.info(
                        "request",
                        logger="voisinage.access",
                        method=method,
                        route=route,
                        status=status,
                        duration_ms=round(seconds * 1000, 2),
                        user_id=getattr(scope.get("user"), "id", None),
                    )

    return observe
