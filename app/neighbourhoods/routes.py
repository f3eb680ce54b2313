"""Neighbourhood administration: opening a forming neighbourhood by hand."""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.exceptions import NotFoundException

from app.access import requires_admin
from app.neighbourhoods import queries
from app.web import see_other


class NeighbourhoodController(Controller):
    path = "/neighbourhoods"

    @post("/{slug:str}/open", guards=[requires_admin])
    async def open(self, request: Request, slug: str) -> Response:
        if not await queries.open_neighbourhood(slug):
            raise NotFoundException()
        return see_other("/feed?notice=neighbourhood_opened")
