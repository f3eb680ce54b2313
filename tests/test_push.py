"""Web push: a neighbour's phone is told when someone answers, through a real
push receiver on 127.0.0.1 that decrypts what it gets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest
import trustme

from app.accounts.tables import User
from app.main import create_app
from app.notify import outbox, preferences
from app.notify.push import MAX_PAYLOAD, Sender, endpoint_problem, payload, vapid_keys
from app.notify.tables import PushDelivery, PushSubscription
from app.settings import ROOT, get_settings
from tests.factories import ensure_csrf, post_form
from tests.factories_posts import make_post, neighbours, signed_in
from tests.factories_push import subscribe, work_until_settled, worker_round
from tests.push_receiver import PushReceiver


@pytest.fixture(autouse=True)
async def empty_outbox():
    # Each story counts what its own receiver got: no delivery left from another.
    await PushDelivery.delete(force=True)
    await PushSubscription.delete(force=True)


@pytest.fixture
def receiver():
    r = PushReceiver()
    yield r
    r.stall.clear()
    r.stop()


async def _reply_story(make_client, receiver, body="Je passe la prendre ce soir !"):
    """Claire subscribed her phone; Paul answers her annonce."""
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Tondeuse à prêter")
    claire_client = await signed_in(make_client, claire)
    answer = await subscribe(claire_client, receiver.subscription("claire-phone"))
    assert answer.status_code == 201, answer.text
    paul_client = await signed_in(make_client, paul)
    reply = await post_form(paul_client, f"/posts/{post_id}/replies", {"body": body})
    assert reply.status_code == 303
    return claire, paul, post_id


async def test_neighbour_reply_pushes_one_encrypted_french_message_to_the_author(make_client, receiver):
    claire, _paul, post_id = await _reply_story(make_client, receiver)
    assert await worker_round() == 1

    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.message == {
        "title": "Nouvelle réponse à votre annonce",
        "body": "Paul V. a répondu à « Tondeuse à prêter »",
        "url": f"/posts/{post_id}#replies",
        "tag": got.headers["topic"],
    }
    # The push service's side: aes128gcm, a TTL, an urgency, a topic, and a valid VAPID JWT.
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == str(48 * 3600) and got.headers["urgency"] == "normal"
    assert len(got.headers["topic"]) <= 32 and got.headers["topic"].isalnum()
    assert got.jwt_error == "" and got.jwt_claims["aud"] == f"http://127.0.0.1:{receiver.port}"
    assert 0 < got.jwt_claims["exp"] - time.time() <= 24 * 3600
    assert got.jwt_claims["sub"].startswith("mailto:")
    assert f"k={vapid_keys(get_settings()).application_server_key}" in got.headers["authorization"]

    # Nothing is sent twice.
    assert await worker_round() == 0 and len(receiver.received) == 1


async def test_a_private_message_is_pushed_with_high_urgency(make_client, receiver):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    paul_client = await signed_in(make_client, paul)
    sent = await post_form(
        paul_client, "/messages", {"to": str(claire.id), "body": "Bonjour Claire, votre vélo est prêt."}
    )
    assert sent.status_code == 303
    await worker_round()
    [got] = receiver.received
    assert got.message["title"] == "Nouveau message" and got.message["url"].startswith("/messages/")
    assert got.headers["urgency"] == "high"


async def test_the_longest_text_still_fits_one_push_record_and_decrypts(make_client, receiver):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    await subscribe(client, receiver.subscription())
    sub = await PushSubscription.select(PushSubscription.id).first()
    data = payload("Titre", "é" * 5000, "/posts/1", "t")
    assert len(data) <= MAX_PAYLOAD and json.loads(data)["body"].endswith("…")
    await PushDelivery.insert(PushDelivery(subscription=sub["id"], payload=data.decode(), topic="t"))
    await worker_round()
    [got] = receiver.messages()
    assert got["body"].startswith("éé") and len(got["body"]) > 1500


async def test_the_push_service_saying_gone_removes_the_subscription(make_client, receiver):
    receiver.script = [410]
    claire, _paul, _post = await _reply_story(make_client, receiver)
    await worker_round()
    assert receiver.attempts == 1
    assert await PushSubscription.count().where(PushSubscription.user == claire.id) == 0
    assert await PushDelivery.count() == 0


@pytest.mark.parametrize("status", [404, 400, 403])
async def test_other_refusals_also_remove_the_subscription(make_client, receiver, status):
    receiver.script = [status]
    claire, _paul, _post = await _reply_story(make_client, receiver)
    await worker_round()
    assert await PushSubscription.count().where(PushSubscription.user == claire.id) == 0


async def test_a_busy_push_service_gets_the_message_once_after_three_503(make_client, receiver):
    receiver.script = [503, 503, 503]
    await _reply_story(make_client, receiver)
    await work_until_settled()
    assert receiver.attempts == 4
    assert len([r for r in receiver.received if r.message]) == 4  # each try carried the message…
    delivery = await PushDelivery.select().first()
    assert delivery["status"] == "sent" and delivery["attempts"] == 4  # …and it was sent once.


async def test_429_and_408_are_retried_not_dropped(make_client, receiver):
    receiver.script = [429, 408]
    claire, _paul, _post = await _reply_story(make_client, receiver)
    await work_until_settled()
    assert receiver.attempts == 3
    assert await PushSubscription.count().where(PushSubscription.user == claire.id) == 1


async def test_five_failures_give_up_without_losing_the_subscription_or_the_reply(make_client, receiver):
    receiver.script = [500] * 10
    claire, _paul, post_id = await _reply_story(make_client, receiver)
    await work_until_settled()
    assert receiver.attempts == outbox.MAX_ATTEMPTS
    delivery = await PushDelivery.select().first()
    assert delivery["status"] == "failed" and delivery["last_error"] == "HTTP 500"
    page = await (await signed_in(make_client, claire)).get(f"/posts/{post_id}")
    assert "Je passe la prendre ce soir" in page.text


async def _replies_to_many_posts(make_client, receiver, n: int) -> list[int]:
    """Claire's phone subscribed; Paul answers n of her annonces: n pushes queued."""
    _neighbourhood, (claire, paul) = await neighbours(2)
    posts = [await make_post(claire, title=f"Objet {i}") for i in range(n)]
    assert (await subscribe(await signed_in(make_client, claire), receiver.subscription())).status_code == 201
    paul_client = await signed_in(make_client, paul)
    for post_id in posts:
        assert (await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je prends !"})).status_code == 303
    return posts


def _worker_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def test_push_service_down_for_a_while_gets_everything_once_when_back(make_client, receiver):
    receiver.stop()
    # Each reply is saved and answered at once (303), push service or not.
    posts = await _replies_to_many_posts(make_client, receiver, 3)
    await worker_round()  # connection refused: kept for later
    rows = await PushDelivery.select()
    assert [r["status"] for r in rows] == ["pending"] * 3 and all("ConnectError" in r["last_error"] for r in rows)

    receiver.start()
    await work_until_settled()
    urls = sorted(m["url"] for m in receiver.messages())
    assert urls == sorted(f"/posts/{p}#replies" for p in posts)


async def test_a_worker_killed_mid_batch_leaves_nothing_behind(make_client, receiver):
    """`voisinage worker` is killed while the push service holds its answers;
    the next worker sends every pending delivery once its lease ends."""
    posts = await _replies_to_many_posts(make_client, receiver, 12)
    assert await PushDelivery.count().where(PushDelivery.status == "pending") == 12

    receiver.stall.set()
    worker = _worker_process("--batch", "5", "--lease", "1", "--poll", "0.1")
    try:
        deadline = time.monotonic() + 30
        while receiver.attempts < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert receiver.attempts == 5, worker.stdout.read1() if worker.poll() is not None else receiver.attempts
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    receiver.stall.clear()
    in_flight = await PushDelivery.count().where(PushDelivery.attempts == 1)
    assert in_flight == 5 and await PushDelivery.count().where(PushDelivery.status == "sent") == 0

    await asyncio.sleep(1.1)  # the dead worker's lease
    await work_until_settled(lease=1)
    assert await PushDelivery.count().where(PushDelivery.status == "sent") == 12
    urls = [m["url"] for m in receiver.messages()]
    assert sorted(set(urls)) == sorted(f"/posts/{p}#replies" for p in posts)
    # Only what was in flight when the worker died can arrive twice (the Topic
    # header lets the phone replace it).
    assert len(urls) - 12 <= 5


async def test_switched_off_kinds_and_suspended_neighbours_get_no_push(make_client, receiver):
    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Escabeau")
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    page = await claire_client.get("/settings/notifications")
    assert '<option value="both" selected>' in page.text
    # Everything but replies to her annonces, which she only wants by email.
    saved = await post_form(
        claire_client,
        "/settings/notifications",
        {k: "push" for k in preferences.PREFERENCES if k != "reply_to_post"}
        | {"reply_to_post": "email", "role": "admin"},
    )
    assert saved.status_code == 303
    chosen = await preferences.user_preferences(claire.id)
    assert chosen["reply_to_post"] == "email" and chosen["message"] == "push"
    assert (await User.select(User.role).where(User.id == claire.id).first())["role"] == "member"

    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je peux l'emprunter ?"})
    assert await PushDelivery.count() == 0
    # She still sees it in the app.
    assert "Escabeau" in (await claire_client.get("/notifications")).text

    await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Et demain ?"})
    assert await PushDelivery.count() == 1
    # Suspended before the worker ran: that message is not sent, nor any later one.
    from datetime import datetime, timedelta, timezone

    await User.update({User.suspended_until: datetime.now(timezone.utc) + timedelta(days=1)}).where(
        User.id == claire.id
    )
    await worker_round()
    assert receiver.attempts == 0
    await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Toujours là ?"})
    assert await PushDelivery.count().where(PushDelivery.status == "pending") == 0


async def test_deleting_the_account_deletes_its_devices(make_client, receiver):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    await subscribe(client, receiver.subscription())
    from app.privacy.queries import erase_account

    await erase_account(claire.id)
    assert await PushSubscription.count() == 0


async def test_subscribing_needs_login_csrf_and_sound_keys(make_client, receiver):
    anonymous = await make_client()
    token = await ensure_csrf(anonymous)
    refused = await anonymous.post("/push/subscriptions", json=receiver.subscription(), headers={"x-csrftoken": token})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")

    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    no_csrf = await client.post("/push/subscriptions", json=receiver.subscription())
    assert no_csrf.status_code == 403
    bad = receiver.subscription()
    bad["keys"]["p256dh"] = "abc"
    answer = await subscribe(client, bad)
    assert answer.status_code == 422 and "clés" in answer.json()["error"]
    assert await PushSubscription.count() == 0
    key = await client.get("/push/key")
    assert key.json()["key"] == vapid_keys(get_settings()).application_server_key


async def test_one_neighbour_cannot_unsubscribe_anothers_device(make_client, receiver):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    paul_client = await signed_in(make_client, paul)
    token = await ensure_csrf(paul_client)
    await paul_client.post(
        "/push/subscriptions/delete",
        json={"endpoint": receiver.subscription()["endpoint"]},
        headers={"x-csrftoken": token},
    )
    assert await PushSubscription.count().where(PushSubscription.user == claire.id) == 1
    # Without JavaScript, the settings page's button switches off every device of one's own.
    off = await post_form(claire_client, "/push/subscriptions/delete")
    assert off.status_code == 303 and await PushSubscription.count() == 0


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.com/send/1",  # not https
        "https://127.0.0.1/send/1",  # loopback
        "https://localhost/send/1",
        "https://10.1.2.3/send/1",  # private
        "https://192.168.1.1/send/1",
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/send/1",
        "https://[::ffff:127.0.0.1]/send/1",  # IPv4-mapped loopback
        "https://[fe80::1]/send/1",
        "https://0.0.0.0/send/1",
        "ftp://push.example.com/1",
        "https://user:pw@push.example.com/1",
        "https://push.example.com/send/a\x00b",  # NUL: PostgreSQL text cannot even hold it
        "https://push.example.com/send/é",  # browsers give endpoints as ASCII URLs
    ],
)
async def test_push_endpoints_pointing_inside_are_refused(make_client, endpoint):
    strict = dataclasses.replace(get_settings(), push_allow_loopback=False)
    assert endpoint_problem(endpoint, strict)
    app = create_app(strict, own_database=False)
    from tests.conftest import _browser_like

    _neighbourhood, (claire,) = await neighbours(1)
    async with _browser_like(app) as client:
        from tests.factories import login

        await login(client, claire)
        answer = await subscribe(client, {"endpoint": endpoint, "keys": _valid_keys()})
    assert answer.status_code == 422 and "pas acceptée" in answer.json()["error"]
    assert await PushSubscription.count() == 0


def _valid_keys() -> dict:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": enc(point), "auth": enc(os.urandom(16))}


async def test_real_push_services_are_accepted():
    strict = dataclasses.replace(get_settings(), push_allow_loopback=False)
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/x",
        "https://web.push.apple.com/QGq",
        "https://8.8.8.8/push",
        "https://[2001:4860:4860::8888]/push",
        # Public IPv4 addresses inside NAT64, 6to4 and Teredo forms.
        "https://[64:ff9b::808:808]/push",
        "https://[2002:808:808::1]/push",
        "https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/push",
    ):
        assert endpoint_problem(endpoint, strict) is None, endpoint


@pytest.mark.server
@pytest.mark.parametrize("workers", ["1", "2"])
async def test_on_a_real_server_the_reply_reaches_the_phone_within_seconds(receiver, workers):
    """The default set-up: the worker runs inside `voisinage serve`; with
    `--workers 2`, in the parent of the two processes serving requests."""
    from tests.server import ServerProcess, signed_in_on

    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Poussette à donner")
    server = ServerProcess({"VOISINAGE_BACKGROUND_WORK": "1"}, args=("--workers", workers))
    try:
        claire_client = await signed_in_on(server.url, claire)
        subscribed = await claire_client.post(
            "/push/subscriptions",
            json=receiver.subscription(),
            headers={"x-csrftoken": claire_client.cookies["csrftoken"]},
        )
        assert subscribed.status_code == 201
        paul_client = await signed_in_on(server.url, paul)
        started = time.monotonic()
        reply = await paul_client.post(
            f"/posts/{post_id}/replies",
            data={"_csrf_token": paul_client.cookies["csrftoken"], "body": "Pour ma fille !"},
        )
        assert reply.status_code == 303
        while not receiver.received and time.monotonic() - started < 10:
            await asyncio.sleep(0.05)
        assert [m["url"] for m in receiver.messages()] == [f"/posts/{post_id}#replies"]
        await asyncio.sleep(1.5)  # a later poll sends nothing more
        assert len(receiver.received) == 1
        for c in (claire_client, paul_client):
            await c.aclose()
    finally:
        server.stop()


async def test_two_workers_side_by_side_never_send_the_same_delivery(make_client, receiver):
    await _replies_to_many_posts(make_client, receiver, 40)
    workers = [_worker_process("--once", "--batch", "3") for _ in range(2)]
    outputs = [await asyncio.to_thread(w.communicate, timeout=60) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    urls = [m["url"] for m in receiver.messages()]
    assert len(urls) == 40 and len(set(urls)) == 40
    assert await PushDelivery.count().where(PushDelivery.status == "sent") == 40


async def test_an_attendee_is_pushed_when_the_event_is_cancelled(make_client, receiver):
    from tests.factories_events import make_event

    _neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_event(claire, title="Vide-grenier")
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/signup")
    await subscribe(paul_client, receiver.subscription("paul-phone"))
    organiser = await signed_in(make_client, claire)
    assert (await post_form(organiser, f"/events/{post_id}/cancel")).status_code == 303
    await worker_round()
    [got] = receiver.messages()
    assert got["title"] == "Un événement a changé" and got["url"] == f"/posts/{post_id}"
    assert "Vide-grenier" in got["body"] and "annulé" in got["body"]


# Addresses that lead inside, as literals and behind names -----------------------------

INSIDE = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",  # loopback
    "169.254.169.254",
    "fe80::1",  # link-local (the cloud metadata service)
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # private, shared (CGNAT)
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",  # unique-local, site-local
    "0.0.0.0",
    "::",  # unspecified
    "224.0.0.1",
    "ff02::1",
    "ff0e::1",  # multicast
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.5",  # IPv4-mapped
    "::127.0.0.1",
    "::a00:5",  # IPv4-compatible
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",  # NAT64 to loopback, to the metadata service
    "64:ff9b:1::a00:5",  # local-use NAT64
    "2002:7f00:1::",
    "2002:a00:5::1",  # 6to4 around loopback, around 10.0.0.5
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (stored inverted)
    "2001:0:4136:e378:8000:63bf:f5ff:fffa",  # Teredo, client 10.0.0.5
]
PUBLIC = "93.184.216.34"
SERVICE = "push.voisinage.test"


class Resolver:
    """DNS as the push module asks it (the machine has no outside DNS): each
    name answers its next address, the last one for good; other names resolve for real."""

    def __init__(self, real) -> None:
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    async def __call__(self, host, port, **kwargs):
        host = host.decode() if isinstance(host, bytes) else host  # anyio asks in bytes
        if host not in self.answers:
            return await self.real(host, port, **kwargs)
        self.asked.append(host)
        queue = self.answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            (family, socket.SOCK_STREAM, 6, "", (address, port) if family == socket.AF_INET else (address, port, 0, 0))
        ]


@pytest.fixture
async def resolver(monkeypatch):
    from app.notify import push

    loop = asyncio.get_running_loop()
    fake = Resolver(loop.getaddrinfo)
    monkeypatch.setattr(loop, "getaddrinfo", fake)
    monkeypatch.setattr(push, "_resolved", {})
    return fake


@pytest.fixture
def authority():
    """The certificate authority the test push services' certificates come from."""
    return trustme.CA()


@pytest.fixture
def services():
    started = []

    def start(**kwargs) -> PushReceiver:
        started.append(PushReceiver(**kwargs))
        return started[-1]

    yield start
    for service in started:
        service.stop()


def _strict():
    return dataclasses.replace(get_settings(), push_allow_loopback=False)


def _sender(settings, authority) -> Sender:
    """The worker's sender, trusting the test authority besides the system's."""
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return Sender(settings, client=httpx.AsyncClient(verify=context, timeout=10))


async def _deliver_all(sender: Sender) -> int:
    try:
        return await outbox.run_until_idle(sender, backoff_base=0.01)
    finally:
        await sender.aclose()


async def _queue_push_for(user_id: int) -> None:
    sub = await PushSubscription.select(PushSubscription.id).where(PushSubscription.user == user_id).first()
    await PushDelivery.insert(
        PushDelivery(
            subscription=sub["id"],
            topic="t",
            payload=payload("Nouveau message", "Bonjour", "/messages/1", "t").decode(),
        )
    )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", INSIDE)
async def test_an_address_leading_inside_is_refused_whether_written_or_resolved(address, resolver, authority):
    """Refused at subscription as written and behind a name; and a name that
    pointed outside when the phone subscribed but inside when the worker
    sends is not contacted: the device is dropped."""
    from tests.conftest import _browser_like
    from tests.factories import login

    _neighbourhood, (claire,) = await neighbours(1)
    device = {"keys": _valid_keys()}
    async with _browser_like(create_app(_strict(), own_database=False)) as client:
        await login(client, claire)
        written = await subscribe(client, device | {"endpoint": f"https://{_url_host(address)}/send/1"})
        resolver.answers[SERVICE] = [address]
        resolved = await subscribe(client, device | {"endpoint": f"https://{SERVICE}/send/1"})
        assert (written.status_code, resolved.status_code) == (422, 422)
        assert "pas acceptée" in resolved.json()["error"]
        assert await PushSubscription.count() == 0

        resolver.answers["push.example.net"] = [PUBLIC, address]
        accepted = await subscribe(client, device | {"endpoint": "https://push.example.net/send/2"})
        assert accepted.status_code == 201
    from app.notify import push

    push._resolved.clear()  # a minute later: the name is asked again, and now points inside
    await _queue_push_for(claire.id)
    assert await _deliver_all(_sender(_strict(), authority)) == 0
    assert await PushSubscription.count() == 0  # refused like a 4xx: the device is dropped
    assert resolver.asked.count("push.example.net") == 2


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "127.1", "017700000001"])
async def test_odd_spellings_of_loopback_are_refused_at_subscription(spelling):
    """Names only in appearance: the resolver reads them as 127.0.0.1."""
    from tests.conftest import _browser_like
    from tests.factories import login

    _neighbourhood, (claire,) = await neighbours(1)
    async with _browser_like(create_app(_strict(), own_database=False)) as client:
        await login(client, claire)
        answer = await subscribe(client, {"endpoint": f"https://{spelling}/send/1", "keys": _valid_keys()})
    assert answer.status_code == 422 and await PushSubscription.count() == 0


async def test_a_name_that_does_not_resolve_is_not_stored(make_client, resolver):
    resolver.answers[SERVICE] = [None]
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    answer = await subscribe(client, {"endpoint": f"https://{SERVICE}/send/1", "keys": _valid_keys()})
    assert answer.status_code == 503 and "injoignable" in answer.json()["error"]
    assert await PushSubscription.count() == 0


async def test_the_push_goes_to_the_address_that_was_checked_with_tls_for_the_name(
    make_client, resolver, authority, services
):
    """The push service's name pointed at 127.0.0.1 when the phone subscribed;
    when the worker connects, the same name would answer 127.0.0.2. The push
    goes where the check looked, and TLS still checks the service's name."""
    service = services(name=SERVICE, authority=authority)
    elsewhere = services(name=SERVICE, authority=authority, address="127.0.0.2", port=service.port)
    resolver.answers[SERVICE] = ["127.0.0.1", "127.0.0.2"]
    claire, _paul, post_id = await _reply_story(make_client, service)

    assert await _deliver_all(_sender(get_settings(), authority)) == 1
    assert elsewhere.attempts == 0 and elsewhere.server_names == []
    [got] = service.received
    assert got.message["url"] == f"/posts/{post_id}#replies"
    assert service.server_names == [SERVICE] and got.headers["host"] == f"{SERVICE}:{service.port}"
    assert got.jwt_error == "" and got.jwt_claims["aud"] == f"https://{SERVICE}:{service.port}"
    assert resolver.asked == [SERVICE]  # once, at subscription; the send used that answer


async def test_a_certificate_for_another_name_gets_nothing(make_client, resolver, authority, services):
    impostor = services(name=SERVICE, certificate_name="autre.example", authority=authority)
    resolver.answers[SERVICE] = ["127.0.0.1"]
    await _reply_story(make_client, impostor)
    assert await _deliver_all(_sender(get_settings(), authority)) == 0
    assert impostor.attempts == 0
    delivery = await PushDelivery.select().first()
    assert delivery["status"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"]
