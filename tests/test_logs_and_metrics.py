"""What an operator reads: one JSON line per request on a real server's
stderr, tied to the answer by its X-Request-ID and free of anything
personal; and /metrics for Prometheus, for the allowed addresses only."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import random
import re
import string
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.notify.tables import PushDelivery, PushSubscription
from app.settings import get_settings
from tests.factories import ensure_csrf, make_user, post_form
from tests.factories_posts import make_post, neighbours, signed_in
from tests.factories_push import subscribe, work_until_settled
from tests.mailbox import body_of
from tests.push_receiver import PushReceiver
from tests.server import ServerProcess, free_port, signed_in_on

INSIDE_DIJON = "12 r de la liberte dijon"


@pytest.fixture(scope="module")
def server():
    """A server as deployed: its access log on."""
    process = ServerProcess({"VOISINAGE_ACCESS_LOG": "1"})
    yield process
    process.stop()


def log_lines(server: ServerProcess) -> list[dict]:
    return server.log_lines()


def access_line(server: ServerProcess, request_id: str) -> dict:
    # Written once the answer is sent: it may come a moment after the client has it.
    for _ in range(100):
        lines = [
            x for x in log_lines(server) if x.get("request_id") == request_id and x["logger"] == "voisinage.access"
        ]
        if lines:
            break
        time.sleep(0.05)
    assert len(lines) == 1, lines
    return lines[0]


def word(prefix: str) -> str:
    """A name nobody else in the test database has."""
    return prefix + "".join(random.choices(string.ascii_lowercase, k=8))


# The access log ----------------------------------------------------------------------------------


async def test_each_request_is_one_json_line_with_the_id_sent_back(server):
    hood, (author,) = await neighbours(1)
    post_id = await make_post(author, title="Escabeau à prêter")
    client = await signed_in_on(server.url, author)
    try:
        page = await client.get(f"/posts/{post_id}", params={"from": "feed"})
    finally:
        await client.aclose()
    assert page.status_code == 200
    line = access_line(server, page.headers["X-Request-ID"])
    assert line["method"] == "GET" and line["status"] == 200 and line["user_id"] == author.id
    # The route's pattern, never the path with its ids nor the query string.
    assert line["route"] == "/posts/{post_id}"
    assert f"/posts/{post_id}" not in json.dumps(line) and "feed" not in json.dumps(line)
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 10_000
    stamp = datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0) and abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)


async def test_errors_and_pages_that_do_not_exist_carry_the_id_too(server):
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        missing = await anonymous.get("/nulle-part/42")
        forged = await anonymous.post("/login", data={"email": "x", "password": "y"})  # no CSRF token
        stranger = await anonymous.get("/ping", headers={"Host": "ailleurs.example"})
    assert (missing.status_code, forged.status_code, stranger.status_code) == (404, 403, 400)
    for answer in (missing, forged, stranger):
        line = access_line(server, answer.headers["X-Request-ID"])
        assert line["status"] == answer.status_code and line["user_id"] is None
    assert access_line(server, missing.headers["X-Request-ID"])["route"] == "unmatched"
    assert access_line(server, forged.headers["X-Request-ID"])["route"] == "/login"


async def test_a_proxys_sane_request_id_is_kept_and_anything_else_replaced(server):
    async with httpx.AsyncClient(base_url=server.url) as c:
        kept = await c.get("/ping", headers={"X-Request-ID": "caddy-7f3a.2_b"})
        assert kept.headers["X-Request-ID"] == "caddy-7f3a.2_b"
        assert access_line(server, "caddy-7f3a.2_b")["route"] == "/ping"

        for insane in ("a b", "x" * 65, "été", "<script>", "id;drop", ""):
            answer = await c.get("/ping", headers={"X-Request-ID": insane.encode()})
            fresh = answer.headers["X-Request-ID"]
            assert fresh != insane and re.fullmatch(r"[0-9a-f]{32}", fresh)
            assert access_line(server, fresh)["status"] == 200
    assert "<script>" not in server.output() and "x" * 65 not in server.output()


async def test_no_email_name_address_or_link_token_in_the_logs_after_a_neighbours_story(server):
    first, last = word("Ondine"), word("Vasseur")
    email = f"{first.lower()}@exemple.fr"
    data_dir = Path(get_settings().data_dir)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        step1 = await post_form(
            c, "/signup", {"first_name": first, "last_name": last, "email": email, "password": "les tilleuls du mail"}
        )
        assert step1.status_code == 303
        found = await c.get("/signup/address", params={"q": INSIDE_DIJON})
        candidate = re.search(r'name="candidate" value="([^"]+)"', found.text).group(1)
        done = await post_form(c, "/signup/address", {"q": INSIDE_DIJON, "candidate": candidate})
        assert done.status_code == 303

        # The confirmation mail (written to the data dir: no SMTP server here) and its link.
        mails = [message_from_bytes(p.read_bytes()) for p in (data_dir / "mail").glob("*.eml")]
        mail = next(m for m in mails if m["To"] == email)
        token = re.search(r"/email/confirm\?token=([\w-]+)", body_of(mail)).group(1)
        assert (await c.get("/email/confirm", params={"token": token})).status_code in (200, 303)

        await post_form(c, "/logout")
        wrong = await post_form(c, "/login", {"email": email, "password": "pas le bon mot de passe"})
        assert wrong.status_code == 422
        assert (await post_form(c, "/login", {"email": email, "password": "les tilleuls du mail"})).status_code == 303
        token_csrf = await ensure_csrf(c)
        post = await c.post(
            "/posts",
            data={"_csrf_token": token_csrf, "kind": "give", "title": f"Vélo de {first}", "body": "Pour un enfant."},
            files={"photos": ("", b"", "application/octet-stream")},
        )
        assert post.status_code == 303
        assert (await c.get("/feed", params={"q": "vélo enfant"})).status_code == 200

    # The story is there, request by request (the last line comes a moment
    # after its answer: waited for, as access_line() does)…
    for _ in range(100):
        if any(x.get("route") == "/feed" and x.get("user_id") for x in log_lines(server)):
            break
        time.sleep(0.05)
    assert any(x.get("route") == "/feed" and x.get("user_id") for x in log_lines(server))
    # …and nothing personal in any of it.
    text = server.output().lower()
    for secret in (email, first, last, "liberté", "liberte", token, "enfant", "exemple.fr"):
        assert secret.lower() not in text, secret


# /metrics ------------------------------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


async def test_metrics_count_the_route_just_called_from_loopback(server):
    async with httpx.AsyncClient(base_url=server.url) as c:
        before = (await c.get("/metrics")).text
        for _ in range(3):
            assert (await c.get("/offline")).status_code == 200
        scrape = await c.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    labels = {"route": "/offline", "method": "GET", "status": "2xx"}
    name = "voisinage_http_requests_total"
    assert sample(scrape.text, name, **labels) - sample(before, name, **labels) == 3
    assert sample(scrape.text, "voisinage_http_request_duration_seconds_count", **labels) >= 3


async def test_metrics_tell_how_many_requests_the_process_is_answering_now(server):
    """What a stuck process shows, and what Caddy's least_conn balances on:
    here a login whose form arrives slowly, half of it still on its way."""
    half_sent, go_on = asyncio.Event(), asyncio.Event()

    async def slowly():
        yield b"email=claire"
        half_sent.set()
        await go_on.wait()
        yield b"%40demo.voisinage.fr"

    name = "voisinage_http_requests_in_progress"
    form = {"content-type": "application/x-www-form-urlencoded", "content-length": "32"}
    async with httpx.AsyncClient(base_url=server.url) as phone, httpx.AsyncClient(base_url=server.url) as scraper:
        # Each scrape counts itself.
        idle = sample((await scraper.get("/metrics")).text, name)
        login = asyncio.create_task(phone.post("/login", content=slowly(), headers=form))
        await half_sent.wait()
        await asyncio.sleep(0.3)
        busy = sample((await scraper.get("/metrics")).text, name)
        go_on.set()
        assert (await login).status_code < 500
        after = sample((await scraper.get("/metrics")).text, name)
    assert idle >= 1 and busy == idle + 1 and after == idle


async def test_metrics_do_not_exist_for_addresses_outside_the_allow_list(make_client):
    settings = dataclasses.replace(get_settings(), metrics_allow=(ipaddress.ip_network("10.0.0.0/8"),))
    transport = httpx.ASGITransport(app=create_app(settings, own_database=False), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        refused = await c.get("/metrics")
    assert refused.status_code == 404 and "voisinage_" not in refused.text


async def test_metrics_are_not_served_through_a_proxy_even_from_loopback(server):
    # Caddy on the same host connects from 127.0.0.1 for everyone on the internet.
    async with httpx.AsyncClient(base_url=server.url) as c:
        through_proxy = await c.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        direct = await c.get("/metrics")
    assert through_proxy.status_code == 404 and direct.status_code == 200


async def test_metrics_tell_the_outbox_depth_and_how_long_the_oldest_due_has_waited(client):
    _hood, (claire,) = await neighbours(1)
    device = await PushSubscription.insert(
        PushSubscription(user=claire.id, endpoint=f"https://push.example/{word('d')}", p256dh="k", auth="a")
    )
    before = (await client.get("/metrics")).text
    await PushDelivery.insert(
        PushDelivery(
            subscription=device[0]["id"],
            payload="{}",
            next_attempt_at=datetime.now(timezone.utc) - timedelta(minutes=5),
        )
    )
    try:
        after = (await client.get("/metrics")).text
    finally:
        await PushSubscription.delete().where(PushSubscription.id == device[0]["id"])
    pending = "voisinage_push_outbox_pending"
    assert sample(after, pending) - sample(before, pending) == 1
    assert sample(after, "voisinage_push_outbox_oldest_due_seconds") >= 300


async def test_a_push_service_refusing_counts_as_push_failures(make_client, client):
    await PushDelivery.delete(force=True)  # this story's receiver answers its own deliveries only
    receiver = PushReceiver()
    try:
        _hood, (claire, paul) = await neighbours(2)
        post_id = await make_post(claire, title="Tondeuse à prêter")
        assert (await subscribe(await signed_in(make_client, claire), receiver.subscription())).status_code == 201
        before = (await client.get("/metrics")).text
        receiver.script = [503, 503]
        await post_form(await signed_in(make_client, paul), f"/posts/{post_id}/replies", {"body": "J'arrive !"})
        await work_until_settled()
        after = (await client.get("/metrics")).text
    finally:
        receiver.stop()
    name = "voisinage_push_failures_total"
    assert sample(after, name, outcome="retry") - sample(before, name, outcome="retry") == 2
    assert receiver.attempts == 3  # two refused, then delivered


async def test_a_mail_server_down_counts_as_a_mail_failure_without_logging_the_address(client, monkeypatch, caplog):
    user = await make_user(first_name="Berthe")
    closed = free_port()  # nothing listens there
    monkeypatch.setenv("VOISINAGE_SMTP_URL", f"smtp://127.0.0.1:{closed}")
    get_settings.cache_clear()
    try:
        before = (await client.get("/metrics")).text
        asked = await post_form(client, "/password/forgot", {"email": user.email})
        assert asked.status_code == 303
        after = (await client.get("/metrics")).text
    finally:
        monkeypatch.delenv("VOISINAGE_SMTP_URL")
        get_settings.cache_clear()
    name = "voisinage_mail_failures_total"
    assert sample(after, name) - sample(before, name) == 1
    logged = [r for r in caplog.records if r.name == "voisinage.mail"]
    assert logged and all(user.email not in r.getMessage() and r.exc_info is None for r in logged)


async def test_a_database_error_quoting_an_email_is_logged_without_it(capsys):
    """PostgreSQL's DETAIL repeats the row that broke a constraint; the log line keeps the error, not the row."""
    import logging

    import structlog

    from app.accounts.tables import User
    from app.logs import configure

    taken = await make_user(first_name="Gaspard")
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("voisinage").level
    configure()
    try:
        try:
            await User.insert(User(email=taken.email, first_name="Autre", last_name="Personne", password_hash="x"))
        except Exception:
            logging.getLogger("voisinage.web").exception("unhandled error on %s %s", "POST", "/signup")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers, level, voisinage_level = saved
        root.setLevel(level)
        logging.getLogger("voisinage").setLevel(voisinage_level)
        structlog.reset_defaults()
    assert line["level"] == "error" and "unique" in line["exception"].lower()
    assert taken.email not in json.dumps(line) and "Gaspard" not in json.dumps(line)
