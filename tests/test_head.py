"""HEAD answers every GET route as GET does, headers and status, without a body."""

from __future__ import annotations

import re

import httpx

from app import live
from tests.factories import login
from tests.factories_posts import make_post, neighbours
from tests.server import ServerProcess

# Headers that may differ between any two answers, GET or not (the data
# export is made at the second it is asked for: its length may change; each
# answer has its own request id).
CHANGING = {"date", "set-cookie", "content-length", "x-request-id"}


def _same_answer(get: httpx.Response, head: httpx.Response) -> None:
    assert head.status_code == get.status_code, (get.url, get.status_code, head.status_code)
    assert head.content == b"", head.url
    assert ("content-length" in head.headers) == ("content-length" in get.headers), head.url
    assert {k: v for k, v in head.headers.items() if k not in CHANGING} == {
        k: v for k, v in get.headers.items() if k not in CHANGING
    }, head.url


async def test_head_answers_like_get_without_a_body_on_every_get_route(app, client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul, title="Escabeau à prêter")
    params = {
        "post_id": str(post_id),
        "user_id": str(paul.id),
        "kind": "post",
        "target_id": str(post_id),
        "slug": "dijon-centre",
        "name": "inconnue",
        "size": "thumb",
        "file_path": "app.css",
    }
    paths = sorted(
        {
            re.sub(r"\{(\w+):\w+\}", lambda m: params.get(m.group(1), "1"), route.path)
            for route in app.routes
            # A live stream lasts as long as its client stays: no end to compare (tests/test_live.py).
            if "GET" in route.methods and not any(h.opt.get(live.STREAM) for h in route.route_handlers)
        }
    )
    assert "/" in paths and f"/posts/{post_id}" in paths and "/static/app.css" in paths

    for signed_in in (False, True):
        if signed_in:
            await login(client, claire)
        for path in paths:
            get = await client.get(path)
            _same_answer(get, await client.head(path))
    # A path no route serves, and a route with no GET, answer HEAD as they answer GET.
    _same_answer(await client.get("/nulle-part"), await client.head("/nulle-part"))
    _same_answer(await client.get("/logout"), await client.head("/logout"))


async def test_head_on_the_real_server_sends_the_length_of_the_page_and_no_body():
    server = ServerProcess()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            get, head = await http.get("/"), await http.head("/")
        assert head.status_code == get.status_code == 200
        assert head.headers["content-length"] == get.headers["content-length"] != "0"
        assert head.headers["content-type"] == get.headers["content-type"] and head.content == b""
    finally:
        server.stop()
