"""Error pages: every failure a person can meet, as a page in their
language (or the login page, when their session has ended), never a trace."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, NotAuthorizedException
from litestar.response import Redirect, Template

from app import metrics, space
from app.i18n import N_, _
from app.web import is_htmx, safe_next, wants_fragment

log = logging.getLogger("voisinage.web")

ERROR_TITLES = {
    400: N_("Requête incorrecte"),
    403: N_("Action refusée"),
    404: N_("Page introuvable"),
    405: N_("Action impossible"),
    413: N_("Fichier trop volumineux"),
    429: N_("Trop de tentatives"),
    500: N_("Une erreur est survenue"),
    503: N_("Service momentanément indisponible"),
}


def _error_message(status: int, detail: str) -> str:
    if status == 403 and "CSRF" in detail:
        return _("Le formulaire a expiré. Rechargez la page et recommencez.")
    if status == 413 and detail == "form":
        return _("Ce formulaire est trop long pour être envoyé. Raccourcissez le texte et recommencez.")
    messages = {
        400: _("La requête n'a pas pu être comprise."),
        403: _("Vous n'avez pas le droit de faire cela."),
        404: _("Cette page n'existe pas ou n'est pas visible pour vous."),
        405: _("Cette action n'est pas possible ici."),
        413: _("Ce que vous avez envoyé est trop volumineux (15 Mo au plus par photo)."),
        429: _("Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer."),
        500: _("Une erreur inattendue est survenue. Réessayez dans un instant."),
        503: _("Le service est momentanément indisponible. Réessayez dans quelques minutes."),
    }
    if status == 503 and detail == "disk full":
        return _("Le serveur manque de place, réessayez plus tard.")
    return messages.get(status, messages[500])


def _login_page(request: Request) -> Response:
    """The session is gone (logout elsewhere, suspension, expiry): the whole
    window goes to the login page. htmx would follow a 303 itself and swap the
    login page into whatever the request targeted (the badge in the navigation),
    so an htmx request gets HX-Redirect, which htmx turns into a navigation."""
    if request.method == "GET" and (not is_htmx(request) or request.headers.get("hx-boosted") == "true"):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        # A poll or a form posted: come back to the page it was made from.
        source = urlsplit(request.headers.get("hx-current-url" if is_htmx(request) else "referer", ""))
        here = source.path + (f"?{source.query}" if source.query else "")
    url = "/login?next=" + quote(safe_next(here), safe="/?=&")
    headers = {"Vary": "HX-Request", "Cache-Control": "no-store"}
    if is_htmx(request):
        return Response(content=b"", status_code=401, media_type="text/plain", headers={**headers, "HX-Redirect": url})
    return Redirect(path=url, status_code=303, headers=headers)


def _hung_up(exc: Exception) -> bool:
    """Litestar's word for a client gone in the middle of sending its body (a
    phone losing signal during an upload): nobody to answer, nothing broken."""
    return isinstance(exc, InternalServerException) and exc.detail == "client disconnected prematurely"


def _database_gave_up(exc: Exception) -> bool:
    """PostgreSQL cancelled a statement that ran past the statement timeout,
    or asyncpg stopped waiting for a server that no longer answers
    (app.db.postgres)."""
    return isinstance(exc, asyncpg.QueryCanceledError | TimeoutError)


def _route(request: Request) -> str:
    # The pattern, as in the access line: a path may carry what the pattern does not (a token, a code).
    return request.scope.get("path_template") or metrics.UNMATCHED


def error_page(request: Request, exc: Exception) -> Response:
    if _hung_up(exc):
        log.info("client hung up during %s %s", request.method, _route(request))
        return Response(content=b"", status_code=400)
    if isinstance(exc, NotAuthorizedException):
        return _login_page(request)
    status = getattr(exc, "status_code", 500) if isinstance(exc, HTTPException) else 500
    detail = str(getattr(exc, "detail", ""))
    if status == 500 and space.out_of_space(exc):
        # Nothing was saved (the transaction rolled back): the person may try again once space is freed.
        space.noticed(exc)
        log.error("disk full on %s %s: %s", request.method, _route(request), exc)
        status, detail = 503, "disk full"
    if status == 500 and _database_gave_up(exc):
        # A slow query or a table held by a long lock: this request fails, the pool and the next ones do not.
        log.warning("database statement timed out on %s %s", request.method, _route(request))
        status = 503
    if status not in ERROR_TITLES:
        status = 400 if 400 <= status < 500 else 500
    if status == 500:
        log.exception("unhandled error on %s %s", request.method, _route(request))
    headers = {"Retry-After": "300"} if status in (429, 503) else {}
    template = "pages/error.html"
    if wants_fragment(request):
        # An htmx request aimed at a small part of the page: show the error
        # in place of the main content instead of nesting a whole page there.
        template = "pages/_error.html"
        headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    return Template(
        template_name=template,
        context={"status": status, "title": _(ERROR_TITLES[status]), "message": _error_message(status, detail)},
        status_code=status,
        headers={"Vary": "HX-Request", **headers},
    )
