"""A neighbour's whole story through a real Caddy, deployed as docs/deploy.md
says: its Caddyfile and its environment file, moved onto loopback addresses.

Two app processes stand for two hosts (127.0.0.2 and 127.0.0.3, each with its
own data directory), one fresh PostgreSQL database, one `voisinage worker`,
and Caddy balancing between them. Then, through Caddy only, with clients that
keep cookies and fill in the forms they are given: a newcomer signs up (both
steps) and turns push notifications on, posts with a photo; a neighbour sees
it and replies; the newcomer's phone receives the reply's push, decrypted and
signed with the instance's VAPID key; another neighbour reports the post; the
moderator hides it. One process is stopped (SIGTERM, as systemd does) while
the photo upload is on its way to it, stays down for the reply, the push and
the report, and is started again before the moderation.

Nothing may fail that a retry of the same request would not fix: only the
upload in flight at the stop may be tried a second time, and only after a
connection error, a 502 or a 503; every other request must succeed the first
time. Nothing is lost: both processes, asked directly at the end, show the
same post, reply, photo and moderation state.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from app.settings import ROOT, get_settings
from tests import deploy_guide as guide
from tests.factories_posts import unique_jpeg
from tests.push_receiver import PushReceiver
from tests.server import ServerProcess, free_port

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not get_settings().is_postgres, reason="several hosts share one PostgreSQL database, never a SQLite file"
    ),
    pytest.mark.skipif(shutil.which("caddy") is None, reason="Debian's caddy is not installed (.ci/test installs it)"),
]

DEMO_PASSWORD = "voisins-demo-2026"
# The guide's hosts, and the loopback addresses standing in for them here.
LOOPBACK = {
    guide.CADDY_HOST: "127.0.0.1",
    guide.PROMETHEUS_HOST: "127.0.0.1",
    guide.APP_HOSTS[0]: "127.0.0.2",
    guide.APP_HOSTS[1]: "127.0.0.3",
}
CADDY_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
async def fresh_database():
    """A database of its own on the test server, empty: the story starts from nothing."""
    url = urlsplit(get_settings().database_url)
    name = f"{url.path.lstrip('/')}_caddy"
    admin = await asyncpg.connect(get_settings().database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(url._replace(path=f"/{name}"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# --- The deployment ------------------------------------------------------------------------


def app_environment(database_url: str, data_dir: Path, caddy_port: int) -> dict[str, str]:
    """The guide's environment file with its hosts moved onto loopback, this
    test's database and data directory, and no SMTP server (mails go to files)."""
    env = {}
    for key, value in guide.environment().items():
        for host, here in LOOPBACK.items():
            value = value.replace(host, here)
        env[key] = value
    del env["VOISINAGE_SMTP_URL"]
    env.update(
        DATABASE_URL=database_url,
        VOISINAGE_DATA_DIR=str(data_dir),
        # No certificate on loopback: https would make the cookies Secure, which a client keeps off http.
        VOISINAGE_BASE_URL=f"http://{guide.SITE}:{caddy_port}",
        # Which process answered which request: read from their access lines.
        VOISINAGE_ACCESS_LOG="1",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("VOISINAGE_SECRET_KEY", "VOISINAGE_VAPID_PRIVATE_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Process:
    """A background command (Caddy, the worker) with its output in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_caddy(folder: Path, port: int, upstreams: list[str]) -> Process:
    folder.mkdir()
    config = folder / "Caddyfile"
    config.write_text(guide.caddyfile_on_loopback(port, upstreams))
    # Its storage (certificates, autosave) in the test's folder, not in root's home.
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}
    caddy = Process(["caddy", "run", "--config", str(config), "--adapter", "caddyfile"], env, folder / "caddy.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert caddy.proc.poll() is None, caddy.log.read_text()
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{guide.SITE}:{port}"})
            if answer.status_code == 200:
                return caddy
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"Caddy did not start: {caddy.log.read_text()}")


def access_lines(server: ServerProcess) -> dict[str, dict]:
    """The requests this process answered, by request id."""
    return {line["request_id"]: line for line in server.log_lines() if line.get("logger") == "voisinage.access"}


async def answered_by(servers: list[ServerProcess], request_id: str) -> ServerProcess:
    """The process that logged this request (its access line follows the answer's last byte)."""
    for _ in range(100):
        found = [server for server in servers if request_id in access_lines(server)]
        if found:
            assert len(found) == 1, f"{request_id} answered twice"
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no process logged {request_id}")


async def answering_now(servers: list[ServerProcess]) -> ServerProcess:
    """The one process answering a request now, besides the scrape of its
    metrics that asks it: Caddy gives a request to whichever has the fewest
    under way (least_conn), so none can be told in advance."""
    busy = []
    async with httpx.AsyncClient(timeout=10) as scraper:
        for server in servers:
            text = (await scraper.get(f"{server.url}/metrics")).text
            if float(re.search(r"^voisinage_http_requests_in_progress (\S+)$", text, re.M).group(1)) > 1:
                busy.append(server)
    assert len(busy) == 1, f"{len(busy)} processes are answering a request"
    return busy[0]


# --- The people ------------------------------------------------------------------------------


class FormFields(HTMLParser):
    """What a browser submits for one form of a page: its hidden fields (the
    CSRF token among them), the values already filled in, the checked choices."""

    def __init__(self, action: str, method: str) -> None:
        super().__init__()
        self.action, self.method = action, method
        self.inside = False
        self.found = False
        self.textarea: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action and a.get("method", "get").lower() == self.method
            self.found = self.found or self.inside
        elif self.inside and tag == "input" and a.get("name") and a.get("type") != "file":
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.fields[a["name"]] = a.get("value", "")
        elif self.inside and tag == "textarea":
            self.textarea = a.get("name")
            self.fields[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None


def form_fields(page: httpx.Response, action: str, method: str = "post") -> dict[str, str]:
    parser = FormFields(action, method)
    parser.feed(page.text)
    assert parser.found, f"no {method} form to {action} on {page.request.url}"
    return parser.fields


class Story:
    """Every request of the story, through Caddy. A request fails the story
    unless it succeeds the first time; `retry_once` is for the one in flight
    while a process stops."""

    def __init__(self, caddy_port: int) -> None:
        self.base = f"http://127.0.0.1:{caddy_port}"
        self.host = f"{guide.SITE}:{caddy_port}"
        self.request_ids: list[str] = []
        self.retried: list[str] = []
        self.browsers: list[httpx.AsyncClient] = []

    def browser(self, **kwargs) -> httpx.AsyncClient:
        """A browser of its own (cookies), on this machine or at another address (`transport`)."""
        client = httpx.AsyncClient(base_url=self.base, headers={"Host": self.host}, timeout=60, **kwargs)
        self.browsers.append(client)
        return client

    async def send(self, client: httpx.AsyncClient, method: str, url: str, *, retry_once=None, **kwargs):
        """`retry_once`: the request's arguments for a second try, if the first one is lost."""
        try:
            answer = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if retry_once is None:
                raise
            answer = None
        if retry_once is not None and (answer is None or answer.status_code in (502, 503)):
            self.retried.append(f"{method} {url}")
            answer = await client.request(method, url, **retry_once)
        assert answer.status_code not in (502, 503), f"{method} {url} was lost"
        request_id = answer.headers["x-request-id"]
        # Caddy's id for the request, which the app logged and sent back.
        assert CADDY_UUID.fullmatch(request_id), request_id
        self.request_ids.append(request_id)
        return answer

    async def get(self, client: httpx.AsyncClient, url: str, **kwargs) -> httpx.Response:
        return await self.send(client, "GET", url, **kwargs)

    async def submit(self, client, page: httpx.Response, action: str, files=None, **fields) -> httpx.Response:
        """Fills in the form to `action` of `page` and sends it, as a browser does."""
        data = {**form_fields(page, action), **fields}
        return await self.send(client, "POST", action, data=data, files=files)

    async def log_in(self, email: str) -> httpx.AsyncClient:
        client = self.browser()
        page = await self.get(client, "/login")
        done = await self.submit(client, page, "/login", email=email, password=DEMO_PASSWORD)
        assert done.status_code == 303, done.text
        return client


def _post_id(answer: httpx.Response) -> int:
    assert answer.status_code == 303, answer.text[:500]
    return int(re.fullmatch(r"/posts/(\d+)", answer.headers["location"]).group(1))


class Deployment:
    """The guide's installation on loopback: two hosts' processes, a worker,
    Caddy in front; Inès's phone for her pushes."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.database_url, self.folder = database_url, folder
        self.caddy_port = free_port()
        self.story = Story(self.caddy_port)
        self.phone = PushReceiver()
        self.environments: list[dict[str, str]] = []
        self.servers: list[ServerProcess] = []
        self.lives: list[ServerProcess] = []  # every process that served, restarted ones too
        self.others: list[Process] = []  # the worker, Caddy
        self.vapid_key = ""

    def start(self) -> None:
        hosts = [LOOPBACK[host] for host in guide.APP_HOSTS]
        ports = [free_port(host) for host in hosts]
        self.environments = [
            app_environment(self.database_url, self.folder / f"host-{n}", self.caddy_port) for n in (1, 2)
        ]
        # The demo's quartiers, addresses and neighbours (Paul moderates Dijon – Centre).
        _cli(self.environments[0], "demo")
        self.vapid_key = _cli(self.environments[0], "vapid").strip()
        for env, host, port in zip(self.environments, hosts, ports, strict=True):
            self.servers.append(ServerProcess(env, host=host, port=port, wait=False))
        self.lives = list(self.servers)
        worker_env = app_environment(self.database_url, self.folder / "worker", self.caddy_port)
        command = [sys.executable, "-m", "app.cli", "worker", "--poll", "0.2"]
        self.others.append(Process(command, {**os.environ, **worker_env}, self.folder / "worker.log"))
        for server in self.servers:
            server.ready()
        upstreams = [f"{host}:{port}" for host, port in zip(hosts, ports, strict=True)]
        self.others.append(start_caddy(self.folder / "caddy", self.caddy_port, upstreams))

    def restart(self, stopped: ServerProcess) -> ServerProcess:
        """The same host's process started again, on its address and port."""
        n = self.servers.index(stopped)
        self.servers[n] = ServerProcess(self.environments[n], host=stopped.host, port=stopped.port)
        self.lives.append(self.servers[n])
        return self.servers[n]

    async def close(self) -> None:
        for client in self.story.browsers:
            await client.aclose()
        for process in [*reversed(self.others), *self.lives]:
            if process.proc.poll() is None:
                process.stop()
        self.phone.stop()


@pytest.fixture
async def deployment(fresh_database, tmp_path):
    deployment = Deployment(fresh_database, tmp_path)
    try:
        deployment.start()
        yield deployment
    finally:
        await deployment.close()


# --- The story -------------------------------------------------------------------------------


async def test_a_neighbours_story_through_caddy_survives_a_process_restart_and_loses_nothing(deployment):
    story = deployment.story
    ines = await newcomer_signs_up_and_turns_push_on(deployment)

    # Claire, a neighbour, is reading the feed; the same page asked again
    # answers 304, whichever process each request reached.
    claire = await story.log_in("claire@demo.voisinage.fr")
    feed = await story.get(claire, "/feed")
    again = await story.get(claire, "/feed", headers={"If-None-Match": feed.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    post_id, stopped = await posts_a_photo_as_a_process_stops(deployment, ines, claire)

    # With one process down: Claire sees the post and its photo, and replies.
    assert "Table de jardin" in (await story.get(claire, "/feed")).text
    shown = await story.get(claire, f"/posts/{post_id}")
    thumb = re.search(r"/photos/[\w-]+/thumb", shown.text).group(0)
    got = await story.get(claire, thumb)
    assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
    reply = "Je peux passer la chercher ce soir ?"
    replied = await story.submit(claire, shown, f"/posts/{post_id}/replies", body=reply)
    assert replied.status_code == 303

    # The worker sends Inès's phone the reply's push: decrypted there, signed with the instance's key.
    [pushed] = await _pushes(deployment, 1)
    assert pushed.jwt_error == "" and pushed.jwt_claims["aud"] == deployment.phone.origin
    assert f"k={deployment.vapid_key}" in pushed.headers["authorization"]
    assert pushed.message["url"] == f"/posts/{post_id}#replies"

    # Yasmine finds it suspicious and reports it.
    yasmine = await story.log_in("yasmine@demo.voisinage.fr")
    form = await story.get(yasmine, f"/posts/{post_id}/report")
    reported = await story.submit(yasmine, form, f"/posts/{post_id}/report", reason="scam", text="Déjà vue ailleurs")
    assert reported.status_code == 303

    await process_comes_back(deployment, stopped)

    # Paul, the quartier's moderator, sees the report and hides the post.
    paul = await story.log_in("paul@demo.voisinage.fr")
    assert "Table de jardin" in (await story.get(paul, "/moderation")).text
    page = await story.get(paul, f"/posts/{post_id}")
    hidden = await story.submit(paul, page, f"/moderation/posts/{post_id}/hide", reason="Annonce en double")
    assert hidden.status_code == 303

    # Only the request in flight at the stop may have needed a second try.
    assert story.retried in ([], ["POST /posts"])
    # Each request was answered by exactly one process, and each process (the restarted one too) served its part.
    served = [await answered_by(deployment.lives, request_id) for request_id in story.request_ids]
    assert all(any(by is life for by in served) for life in deployment.lives)

    await nothing_is_lost(deployment, post_id, paul, claire, thumb, reply)
    assert all(received.jwt_error == "" for received in deployment.phone.received)
    await what_the_operator_sees(deployment)


async def newcomer_signs_up_and_turns_push_on(deployment: Deployment) -> httpx.AsyncClient:
    """Inès signs up (who she is, then where she lives), then turns
    notifications on for her phone, as static/app.js does."""
    story = deployment.story
    ines = story.browser()
    page = await story.get(ines, "/signup")
    email = f"ines.{uuid.uuid4().hex[:8]}@exemple.fr"
    about = {"first_name": "Inès", "last_name": "Moreau", "email": email, "password": "les tilleuls du quai"}
    step = await story.submit(ines, page, "/signup", **about)
    assert step.status_code == 303 and step.headers["location"] == "/signup/address"
    found = await story.get(ines, "/signup/address", params={"q": "12 rue de la liberte dijon"})
    assert "12 Rue de la Liberté, 21000 Dijon" in found.text
    joined = await story.submit(ines, found, "/signup/address")
    assert joined.status_code == 303 and joined.headers["location"].startswith("/feed")

    settings = await story.get(ines, "/settings/notifications")
    key = (await story.get(ines, re.search(r'data-key-url="([^"]+)"', settings.text).group(1))).json()["key"]
    assert key == deployment.vapid_key  # the processes and `voisinage vapid` tell the same key
    subscribed = await story.send(
        ines,
        "POST",
        re.search(r'data-subscribe-url="([^"]+)"', settings.text).group(1),
        json=deployment.phone.subscription("ines-phone", application_server_key=key),
        headers={"x-csrftoken": form_fields(settings, "/settings/notifications")["_csrf_token"]},
    )
    assert subscribed.status_code == 201, subscribed.text
    return ines


async def posts_a_photo_as_a_process_stops(
    deployment: Deployment, ines: httpx.AsyncClient, claire: httpx.AsyncClient
) -> tuple[int, ServerProcess]:
    """Inès posts a table with its photo from her phone, on a slow line: half
    the upload is on its way when the process receiving it gets SIGTERM."""
    story = deployment.story
    form = await story.get(ines, "/posts/new", params={"kind": "give"})
    fields = {**form_fields(form, "/posts"), "title": "Table de jardin", "body": "Avec ses quatre chaises."}
    files = [("photos", ("table.jpg", unique_jpeg(800, 600), "image/jpeg"))]
    upload = ines.build_request("POST", "/posts", data=fields, files=files)
    body = upload.read()
    half_sent, go_on = asyncio.Event(), asyncio.Event()

    async def slowly():
        yield body[: len(body) // 2]
        half_sent.set()
        await go_on.wait()
        yield body[len(body) // 2 :]

    headers = {"content-type": upload.headers["content-type"], "content-length": str(len(body))}
    posting = asyncio.create_task(
        story.send(
            ines, "POST", "/posts", content=slowly(), headers=headers, retry_once={"data": fields, "files": files}
        )
    )
    await half_sent.wait()
    await asyncio.sleep(1)  # Caddy has passed the request on
    stopping = await answering_now(deployment.servers)
    stopping.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(1)  # it takes no new connection
    # Meanwhile Claire reads on: Caddy sends her requests to the process still up.
    for _ in range(2):
        assert (await story.get(claire, "/feed")).status_code == 200
    go_on.set()
    answer = await posting
    assert answer.status_code == 303, answer.text[:500]
    # The stopped process finished the upload it had begun, then exited cleanly.
    assert stopping.proc.wait(timeout=60) == 0, stopping.output()
    if not story.retried:
        assert await answered_by(deployment.lives, story.request_ids[-1]) is stopping
    return int(re.fullmatch(r"/posts/(\d+)", answer.headers["location"]).group(1)), stopping


async def _pushes(deployment: Deployment, count: int, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while len(deployment.phone.received) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert len(deployment.phone.received) >= count, deployment.others[0].log.read_text()
    return deployment.phone.received[:count]


async def process_comes_back(deployment: Deployment, stopped: ServerProcess) -> None:
    """The stopped process starts again, on its port, and Caddy sends it requests again."""
    story = deployment.story
    back = deployment.restart(stopped)
    visitor = story.browser()
    deadline = time.monotonic() + 60
    while not set(story.request_ids) & set(access_lines(back)) and time.monotonic() < deadline:
        assert (await story.get(visitor, "/ping")).text == "pong"
        await asyncio.sleep(0.2)
    assert set(story.request_ids) & set(access_lines(back)), "Caddy never sent the restarted process a request"


async def nothing_is_lost(deployment, post_id, paul, claire, thumb: str, reply: str) -> None:
    """Asked directly, both processes show the same post, reply, photo and moderation state."""
    pages, photos = [], []
    for server in deployment.servers:
        direct = {"base_url": server.url, "headers": {"Host": deployment.story.host}, "timeout": 30}
        async with httpx.AsyncClient(cookies=dict(paul.cookies.items()), **direct) as as_paul:
            page = await as_paul.get(f"/posts/{post_id}")
            assert page.status_code == 200
            assert "Cette annonce est masquée par la modération." in page.text and "Annonce en double" in page.text
            assert reply in page.text and thumb in page.text
            pages.append(re.sub(r'value="[^"]+"', "", page.text))  # each page has its own CSRF token
            photos.append((await as_paul.get(thumb.removesuffix("/thumb") + "/large")).content)
        async with httpx.AsyncClient(cookies=dict(claire.cookies.items()), **direct) as as_claire:
            assert (await as_claire.get(f"/posts/{post_id}")).status_code == 404
            assert "Table de jardin" not in (await as_claire.get("/feed")).text
    assert pages[0] == pages[1]
    assert photos[0] == photos[1] and photos[0].startswith(b"RIFF")
    database = await asyncpg.connect(deployment.database_url)
    try:
        counts = await database.fetchrow(
            "SELECT (SELECT count(*) FROM post WHERE title = 'Table de jardin') AS posts,"
            " (SELECT count(*) FROM reply WHERE post = $1) AS replies,"
            " (SELECT count(*) FROM report WHERE target_id = $1) AS reports,"
            " (SELECT count(*) FROM photo WHERE post = $1) AS photos",
            post_id,
        )
    finally:
        await database.close()
    # Once each: the upload in flight at the stop was not saved twice.
    assert dict(counts) == {"posts": 1, "replies": 1, "reports": 1, "photos": 1}


async def what_the_operator_sees(deployment: Deployment) -> None:
    """The guide's promises about Caddy, checked on the same installation."""
    story = deployment.story
    browser = story.browser()
    page = await story.get(browser, "/login")
    # The app's security headers, once each: Caddy adds none of its own, nor its name.
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert len(page.headers.get_list(name)) == 1, name
    assert "server" not in page.headers
    # Compressed once: by the app (gzip), or by Caddy for what the app does not do (zstd).
    for encoding in ("gzip", "zstd"):
        compressed = await story.get(browser, "/login", headers={"Accept-Encoding": encoding})
        assert compressed.headers.get_list("content-encoding") == [encoding]
    # The request id is Caddy's, whatever a client sends.
    chosen = await story.get(browser, "/ping", headers={"X-Request-ID": "chosen-by-the-client"})
    assert chosen.headers["x-request-id"] != "chosen-by-the-client"
    # Each neighbour is known by their own address (X-Forwarded-For from Caddy,
    # VOISINAGE_TRUSTED_PROXIES), whichever process answers: ten failed
    # signups from one address hold that address back, not the next one.
    for address, expected in (("127.0.0.5", [422] * 10 + [429]), ("127.0.0.6", [422])):
        there = story.browser(transport=httpx.AsyncHTTPTransport(local_address=address))
        form = await story.get(there, "/signup")
        statuses = [(await story.submit(there, form, "/signup")).status_code for _ in expected]
        assert statuses == expected, address
    # /metrics: refused by Caddy itself (no request id: the app never saw it) ...
    refused = await story.browser().get("/metrics")
    assert refused.status_code == 404 and "x-request-id" not in refused.headers
    # ... and read on each process's own port, by its own address, as Prometheus does.
    for server in deployment.servers:
        scraped = httpx.get(f"{server.url}/metrics", timeout=10)
        assert scraped.status_code == 200 and "voisinage_http_requests_total" in scraped.text
