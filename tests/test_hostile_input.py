"""Nothing a client can send answers 5xx.

Every route of the app's route table, with every method it answers, is sent a
battery of hostile values: huge, negative and non-ASCII numbers, non-ASCII
text, NUL bytes, 1 MB fields, wrong types (files, JSON of every kind),
missing, duplicated and malformed fields, forged CSRF tokens and cookies, in
its path, its query string and its body (urlencoded, multipart, JSON), with a
valid CSRF token so that the handlers' bodies are reached. A route added
tomorrow is swept without touching this file.

Who sends what: the people the route's guards let in (a member, a moderator,
an administrator, and the anonymous visitor on public pages) take turns
through the battery, and the three ways a page is asked for (plain browser,
targeted htmx, boosted htmx) take turns too. The anonymous visitor also
knocks at every guarded route.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode

from litestar.exceptions import HTTPException
from litestar.routes import HTTPRoute

from app import live
from app.accounts.sessions import start_session
from app.accounts.tables import Block, ModeratorAssignment
from app.messages import queries as messages
from app.moderation.reports import report_post
from app.moderation.tables import Report
from app.posts import queries as posts
from app.ratelimits import RateLimit
from app.settings import ROOT, get_settings
from tests.factories import ensure_csrf, make_moderator, make_neighbourhood, make_user
from tests.factories_events import make_event
from tests.factories_posts import make_post

# Numbers as a client may type or forge them: beyond PostgreSQL's and
# SQLite's integers, negative, zero, digits that str.isdigit() accepts and
# int() refuses, and digits of another script (which int() accepts).
NUMBERS = ["99999999999999999999", "9223372036854775808", "2147483648", "-1", "0", "²", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠"]
# Text beyond Latin-1, control characters, markup and SQL with a header
# injection, a keyset cursor (date_id) at the edge of time, a long line.
TEXTS = [
    "",
    "é€😀\u202e",
    "a\x00b",
    "<script>alert(1)</script>' OR 1=1 --\r\nSet-Cookie: x=1",
    "0001-01-01T00:00+23:59_1",
    "x" * 10_000,
]
PATH_TEXTS = ["é€😀", "a\x00b", "app.js/x", "x" * 10_000]
MEGABYTE = "x" * 1_000_000
# httpx refuses longer query strings; servers in front cut them sooner.
LONG_QUERY = 60_000
HTMX = [{}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"}]

# Where a route names an object, the sweep names one that exists (made afresh
# for each route) so that hostile values elsewhere reach the handler's body.
# Posts take turns: the member's own, someone else's, an event of each.
PATH_TARGETS = {
    "post_id": ["my_post", "their_post", "my_event", "their_event"],
    "user_id": ["victim"],
    "target_id": ["victim"],
    "slug": ["neighbourhood_slug"],
    "conversation_id": ["conversation"],
    "reply_id": ["reply"],
    "report_id": ["report"],
    "assignment_id": ["assignment"],
    "neighbourhood_id": ["neighbourhood"],
}
PATH_WORDS = {"kind": "user", "action": "hide", "outcome": "dismissed", "size": "thumb", "file_path": "app.js"}


def field_names() -> list[str]:
    """Every form and query field the app reads or its templates render."""
    names: set[str] = set()
    readers = re.compile(
        r"""(?:form|query_params|data|keys)(?:\.\w+)?[\[(]\s*["']([a-z_][a-z_0-9]*)["']"""
        r"""|\(form,\s*["']([a-z_][a-z_0-9]*)["']"""
    )
    for source in (ROOT / "app").rglob("*.py"):
        names.update(n for match in readers.findall(source.read_text()) for n in match if n)
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        names.update(re.findall(r'\bname="([a-z_][a-z_0-9]*)"', text))
        names.update(re.findall(r'\bfield\(\s*\w+,\s*"([a-z_][a-z_0-9]*)"', text))
    names.discard("_csrf_token")
    return sorted(names)


def route_table(app):
    """(method, path, path parameter types, handler) for every handler the app
    serves; but the live streams, which last as long as their client stays (in
    this process, forever): tests/test_live.py sweeps them on a real server."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            params = {p.name: p.type for p in route.path_parameters.values()}
            for handler in route.route_handlers:
                if handler.opt.get(live.STREAM):
                    continue
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    yield method, route.path, params, handler


async def admitted(handler, person) -> bool:
    """Whether the handler's guards let this person in (they read the scope's user)."""
    try:
        for guard in handler.resolve_guards():
            await guard(SimpleNamespace(scope={"user": person}), handler)
    except HTTPException:
        return False
    return True


async def make_world(neighbourhood, member) -> None:
    """What every route of the member's quartier shows, made once: a
    conversation, and someone the member has blocked (every list of theirs
    leaves this person out)."""
    other = await make_user(neighbourhood, first_name="Ophélie")
    await messages.send(other.id, member.id, "Bonjour, toujours disponible ?")
    await Block.insert(Block(blocker=member.id, blocked=(await make_user(neighbourhood, first_name="Bloqué")).id))


async def make_targets(neighbourhood, member, needed: set[str]) -> dict[str, object]:
    """What the route's path names, made afresh (the route may delete it):
    a neighbour and what they made, what the member made."""
    targets: dict[str, object] = {"neighbourhood_slug": neighbourhood.slug, "neighbourhood": neighbourhood.id}
    victim = await make_user(neighbourhood, first_name="Victor")
    targets["victim"] = victim.id
    if needed & {"their_post", "reply", "report"}:
        targets["their_post"] = their_post = await make_post(victim)
        targets["reply"], _ = await posts.add_reply(their_post, victim.id, "Je suis intéressé.")
        await report_post(member, await posts.post_by_id(their_post), "spam", "")
        targets["report"] = (
            await Report.select(Report.id)
            .where((Report.target_id == their_post) & (Report.target_type == "post"))
            .first()
        )["id"]
    if "my_post" in needed:
        targets["my_post"] = await make_post(member, kind="lend", details={"loan_days": 7})
    if "my_event" in needed:
        targets["my_event"], targets["their_event"] = await make_event(member), await make_event(victim)
    if "conversation" in needed:
        targets["conversation"] = await messages.send(member.id, victim.id, "Bonjour, toujours disponible ?")
        await messages.send(victim.id, member.id, "Oui !", conversation_id=targets["conversation"])
    if "assignment" in needed:
        spare = await make_moderator(neighbourhood, first_name="Remplaçante")
        targets["assignment"] = (
            await ModeratorAssignment.select(ModeratorAssignment.id).where(ModeratorAssignment.user == spare.id).first()
        )["id"]
    return targets


def fill(path: str, params: dict[str, type], targets: dict, turn: int, hostile: tuple[str, str] | None = None) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if hostile and hostile[0] == name:
            word = hostile[1]
        elif name in PATH_TARGETS:
            choices = PATH_TARGETS[name]
            word = str(targets[choices[turn % len(choices)]])
        else:
            word = PATH_WORDS.get(name, "1" if params[name] is int else "x")
        return quote(word, safe="/" if params[name] is Path else "")

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def battery(method: str, path: str, params: dict[str, type], fields: list[str]):
    """The hostile requests for one route: (what, builder). A builder takes the
    targets, the sender's CSRF token and session cookie, and the turn."""
    posting = method != "GET"

    def query(value: str) -> list[tuple[str, str]]:
        if len(value) < 100:
            return [(f, value) for f in fields]
        return [(f, value) for f in fields[: max(1, LONG_QUERY // (3 * len(value)))]]

    def request(what, *, hostile=None, body=None, headers=None, **kwargs):
        def build(targets, token, session, turn):
            with_token = {"_csrf_token": token} if posting else None
            data = body(token) if callable(body) else (with_token if body is None else body)
            extra = headers(token, session) if callable(headers) else headers or {}
            url = fill(path, params, targets, turn, hostile)
            if isinstance(data, (bytes, str)):
                return {"method": method, "url": url, "content": data, "headers": extra, **kwargs}
            return {"method": method, "url": url, "data": data, "headers": extra, **kwargs}

        return what, build

    # Hostile path parameters, one at a time, with an ordinary body.
    for name, kind in params.items():
        for value in NUMBERS if kind is int else PATH_TEXTS:
            yield request(f"path {name}={value[:20]!r}", hostile=(name, value))
    # Every field at once carries the same hostile value, in the query string
    # and in the body, urlencoded and multipart by turns.
    for n, value in enumerate(NUMBERS + TEXTS):
        if not posting:
            yield request(f"query={value[:20]!r}", params=query(value))
        elif n % 2:
            yield request(
                f"urlencoded={value[:20]!r}",
                params=query(value),
                body=lambda token, value=value: {**dict.fromkeys(fields, value), "_csrf_token": token},
            )
        else:
            photo = ("x.jpg", value.encode(), "image/jpeg")
            yield request(
                f"multipart={value[:20]!r}",
                files={"photos": photo, "photo": photo},
                body=lambda token, value=value: {**dict.fromkeys(fields, value), "_csrf_token": token},
            )
    yield request("missing fields")
    twice = [(f, v) for f in fields for v in ("1", NUMBERS[0])]
    # Headers and cookies no browser sends: a forged language list, bytes
    # beyond ASCII in headers and cookies (Latin-1 on the wire).
    yield request(
        "hostile headers",
        headers=lambda token, session: {
            "accept-language": "é\xff;q=NaN, *;q=-1, ".encode("latin-1") + b"x" * 5000,
            "hx-current-url": b"\xe9\x00",
            "cookie": f"{session}; csrftoken={token}; ".encode()
            + get_settings().session_cookie.encode()
            + b"2=\xe9\xe9",
        },
    )
    if not posting:
        yield request("duplicated fields", params=twice)
        yield request("array fields", params=[(f + "[]", "1") for f in fields])
        yield request("long query", params=query("x" * (LONG_QUERY // 2)))
        return
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    json_type = {"content-type": "application/json"}
    yield request(
        "duplicated fields", body=lambda token: urlencode(twice + [("_csrf_token", token)]), headers=form_type
    )
    yield request("1 MB urlencoded", body=lambda token: {"title": MEGABYTE, "body": MEGABYTE, "_csrf_token": token})
    yield request(
        "1 MB multipart",
        body=lambda token: {"title": MEGABYTE, "body": MEGABYTE, "_csrf_token": token},
        files={"photos": ("x.jpg", MEGABYTE.encode(), "image/jpeg")},
    )
    # Wrong types: a file where text is expected, JSON values of every kind.
    yield request(
        "files for every field", files=[(f, ("a.bin", b"\x00\xff" * 64, "application/octet-stream")) for f in fields]
    )
    kinds = ([1, 2], {"p256dh": [1], "auth": {}}, None, 10**30, True, -1.5, "é\x00")
    every_type = {f: kinds[i % len(kinds)] for i, f in enumerate(fields)}
    yield request(
        "json of every type", body=json.dumps(every_type), headers=lambda token, _: {**json_type, "x-csrftoken": token}
    )
    yield request(
        "json nested deep",
        body="[" * 100_000 + "]" * 100_000,
        headers=lambda token, _: {**json_type, "x-csrftoken": token},
    )
    yield request("json broken", body='{"endpoint": ', headers=lambda token, _: {**json_type, "x-csrftoken": token})
    # Malformed bodies, the token in a header so that the handler reads them...
    yield request(
        "invalid utf-8",
        body=b"title=\xff\xfe&body=%ff%fe&to=%C0%AF&kind=%00",
        headers=lambda token, _: {**form_type, "x-csrftoken": token},
    )
    yield request(
        "multipart without boundary",
        body=b"garbage",
        headers=lambda token, _: {"content-type": "multipart/form-data", "x-csrftoken": token},
    )
    yield request(
        "multipart broken",
        body=b'--zz\r\nContent-Disposition: form-data; name="title"\r\n\r\nx',
        headers=lambda token, _: {"content-type": "multipart/form-data; boundary=zz", "x-csrftoken": token},
    )
    # ... and as a field, read by the CSRF check itself.
    yield request(
        "invalid utf-8, token field",
        body=lambda token: b"_csrf_token=" + token.encode() + b"&title=\xff",
        headers=form_type,
    )
    yield request(
        "multipart broken, token field",
        body=b"--zz\r\nbroken",
        headers={"content-type": "multipart/form-data; boundary=zz"},
    )
    # Forged CSRF tokens: refused, never a crash.
    yield request("csrf field beyond ASCII", body=lambda token: {"_csrf_token": token[:-2] + "é"})
    yield request(
        "csrf header beyond ASCII",
        body={},
        headers=lambda token, _: {"x-csrftoken": (token[:-2] + "é").encode("latin-1")},
    )
    yield request("csrf field as a file", body={}, files={"_csrf_token": ("t.txt", b"token", "text/plain")})
    yield request(
        "csrf cookie beyond ASCII",
        headers=lambda token, session: {
            "cookie": f"{session}; csrftoken={token[:-2]}".encode() + "é".encode("latin-1")
        },
    )


class _Crashes(logging.Handler):
    """Remembers the exception behind a 500 (the app logs it), to name it in the failure."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = f"{type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:80]}"


async def test_no_route_answers_5xx_to_hostile_input(app, make_client, capsys):
    neighbourhood = await make_neighbourhood()
    member = await make_user(neighbourhood, first_name="Mélanie", verified=True)
    people = {
        "anonymous": None,
        "member": member,
        "moderator": await make_moderator(neighbourhood),
        "admin": await make_user(neighbourhood, first_name="Adèle", role="admin"),
    }
    clients = {role: await make_client() for role in people}
    tokens = {role: await ensure_csrf(client) for role, client in clients.items()}
    await make_world(neighbourhood, member)
    fields = field_names()
    cookie = get_settings().session_cookie
    crashes = _Crashes()
    logging.getLogger().addHandler(crashes)

    statuses, failures, started = Counter(), defaultdict(set), time.monotonic()
    try:
        for method, path, params, handler in route_table(app):
            needed = {target for name in params for target in PATH_TARGETS.get(name, [])}
            targets = await make_targets(neighbourhood, member, needed) if needed else {}
            insiders = [role for role, person in people.items() if await admitted(handler, person)]
            sessions = {}
            for role, person in people.items():
                sessions[role] = f"{cookie}={await start_session(person.id)}" if person else f"{cookie}="
                clients[role].cookies.set(cookie, sessions[role].partition("=")[2], domain="testserver.local")
            requests = [
                (role, what, build)
                for (what, build), role in zip(battery(method, path, params, fields), itertools.cycle(insiders))
            ]
            if "anonymous" not in insiders:
                # The anonymous visitor knocks too, and is shown the way to the login page.
                requests += [
                    ("anonymous", what, build)
                    for what, build in battery(method, path, params, fields)
                    if what.startswith(("path", "missing", "csrf"))
                ]
            for n, (role, what, build) in enumerate(requests):
                # A round is one request from each insider; the flavour and the target change by round.
                turn = n // len(insiders)
                request = build(targets, tokens[role], sessions[role], turn)
                request["headers"] = {**HTMX[turn % len(HTMX)], **request["headers"]}
                # Fresh rate limits: the battery reaches the handler rather than a 429.
                await RateLimit.delete(force=True)
                crashes.last = ""
                try:
                    status = (await clients[role].request(**request)).status_code
                except Exception as exc:  # noqa: BLE001 - an exception escaping the app is the worst answer
                    status, crashes.last = 599, f"{type(exc).__name__}: {str(exc)[:80]}"
                statuses[status] += 1
                if status >= 500:
                    failures[f"{status} {method} {path} [{what}] {crashes.last}"].add(role)
    finally:
        logging.getLogger().removeHandler(crashes)
    failed = sum(n for status, n in statuses.items() if status >= 500)
    with capsys.disabled():
        print(
            f"\nhostile sweep: {statuses.total()} requests, {failed} answered 5xx, "
            f"{time.monotonic() - started:.1f} s; answers: {dict(sorted(statuses.items()))}"
        )
    report = [f"{what} ({', '.join(sorted(roles))})" for what, roles in sorted(failures.items())]
    assert not failures, f"{failed} answers 5xx:\n" + "\n".join(report)
    # The battery got past the CSRF check and the guards: handlers read it and said what was wrong.
    assert statuses[422] > 100 and statuses[200] > 100 and statuses[303] > 100
