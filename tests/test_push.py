"""Web push: a neighbour's phone is told when someone answers, through a real
push receiver on 127.0.0.1 that decrypts what it gets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from app.accounts.tables import User
from app.main import create_app
from app.notify import outbox
from app.notify.push import MAX_PAYLOAD, endpoint_problem, payload, vapid_keys
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
    _hood, (claire, paul) = await neighbours(2)
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
    assert got.message == {"title": "Nouvelle réponse à votre annonce",
                           "body": "Paul V. a répondu à « Tondeuse à prêter »",
                           "url": f"/posts/{post_id}#replies", "tag": got.headers["topic"]}
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
    _hood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    paul_client = await signed_in(make_client, paul)
    sent = await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Bonjour Claire, votre vélo est prêt."})
    assert sent.status_code == 303
    await worker_round()
    [got] = receiver.received
    assert got.message["title"] == "Nouveau message" and got.message["url"].startswith("/messages/")
    assert got.headers["urgency"] == "high"


async def test_the_longest_text_still_fits_one_push_record_and_decrypts(make_client, receiver):
    _hood, (claire,) = await neighbours(1)
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
    _hood, (claire, paul) = await neighbours(2)
    posts = [await make_post(claire, title=f"Objet {i}") for i in range(n)]
    assert (await subscribe(await signed_in(make_client, claire), receiver.subscription())).status_code == 201
    paul_client = await signed_in(make_client, paul)
    for post_id in posts:
        assert (await post_form(paul_client, f"/posts/{post_id}/replies", {"body": "Je prends !"})).status_code == 303
    return posts


def _worker_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


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
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Escabeau")
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    page = await claire_client.get("/settings/notifications")
    assert 'name="reply_to_post" value="on" checked' in page.text
    # Everything but replies to her annonces.
    saved = await post_form(claire_client, "/settings/notifications",
                            {k: "on" for k in outbox.PREFERENCES if k != "reply_to_post"} | {"role": "admin"})
    assert saved.status_code == 303
    page = await claire_client.get("/settings/notifications")
    assert 'name="reply_to_post" value="on">' in page.text and 'name="message" value="on" checked' in page.text
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

    await User.update({User.suspended_until: datetime.now(timezone.utc) + timedelta(days=1)}).where(User.id == claire.id)
    await worker_round()
    assert receiver.attempts == 0
    await post_form(paul_client, "/messages", {"to": str(claire.id), "body": "Toujours là ?"})
    assert await PushDelivery.count().where(PushDelivery.status == "pending") == 0


async def test_deleting_the_account_deletes_its_devices(make_client, receiver):
    _hood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    await subscribe(client, receiver.subscription())
    from app.moderation.privacy import erase_account

    await erase_account(claire.id, get_settings().uploads_dir)
    assert await PushSubscription.count() == 0


async def test_subscribing_needs_login_csrf_and_sound_keys(make_client, receiver):
    anonymous = await make_client()
    token = await ensure_csrf(anonymous)
    refused = await anonymous.post("/push/subscriptions", json=receiver.subscription(), headers={"x-csrftoken": token})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")

    _hood, (claire,) = await neighbours(1)
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
    _hood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    await subscribe(claire_client, receiver.subscription())
    paul_client = await signed_in(make_client, paul)
    token = await ensure_csrf(paul_client)
    await paul_client.post("/push/subscriptions/delete", json={"endpoint": receiver.subscription()["endpoint"]},
                           headers={"x-csrftoken": token})
    assert await PushSubscription.count().where(PushSubscription.user == claire.id) == 1
    # Without JavaScript, the settings page's button switches off every device of one's own.
    off = await post_form(claire_client, "/push/subscriptions/delete")
    assert off.status_code == 303 and await PushSubscription.count() == 0


@pytest.mark.parametrize("endpoint", [
    "http://push.example.com/send/1",          # not https
    "https://127.0.0.1/send/1",                # loopback
    "https://localhost/send/1",
    "https://10.1.2.3/send/1",                 # private
    "https://192.168.1.1/send/1",
    "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
    "https://[::1]/send/1",
    "https://[::ffff:127.0.0.1]/send/1",       # IPv4-mapped loopback
    "https://[fe80::1]/send/1",
    "https://0.0.0.0/send/1",
    "ftp://push.example.com/1",
    "https://user:pw@push.example.com/1",
    "https://push.example.com/send/a\x00b",     # NUL: PostgreSQL text cannot even hold it
    "https://push.example.com/send/é",          # browsers give endpoints as ASCII URLs
])
async def test_push_endpoints_pointing_inside_are_refused(make_client, endpoint):
    strict = dataclasses.replace(get_settings(), push_allow_loopback=False)
    assert endpoint_problem(endpoint, strict)
    app = create_app(strict, own_database=False)
    from tests.conftest import _browser_like

    _hood, (claire,) = await neighbours(1)
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

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": enc(point), "auth": enc(os.urandom(16))}


async def test_real_push_services_are_accepted():
    strict = dataclasses.replace(get_settings(), push_allow_loopback=False)
    for endpoint in ("https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
                     "https://web.push.apple.com/QGq", "https://8.8.8.8/push"):
        assert endpoint_problem(endpoint, strict) is None, endpoint


async def _server_login(base: str, user) -> "httpx.AsyncClient":
    import httpx

    from tests.factories import PASSWORD

    client = httpx.AsyncClient(base_url=base, timeout=10)
    await client.get("/login")
    token = client.cookies["csrftoken"]
    answer = await client.post("/login", data={"_csrf_token": token, "email": user.email, "password": PASSWORD})
    assert answer.status_code == 303
    return client


@pytest.mark.server
async def test_on_a_real_server_the_reply_reaches_the_phone_within_seconds(receiver):
    """The default set-up: the worker runs inside `voisinage serve`."""
    from tests.server import ServerProcess

    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire, title="Poussette à donner")
    server = ServerProcess({"VOISINAGE_BACKGROUND_WORK": "1"})
    try:
        claire_client = await _server_login(server.url, claire)
        subscribed = await claire_client.post("/push/subscriptions", json=receiver.subscription(),
                                              headers={"x-csrftoken": claire_client.cookies["csrftoken"]})
        assert subscribed.status_code == 201
        paul_client = await _server_login(server.url, paul)
        started = time.monotonic()
        reply = await paul_client.post(f"/posts/{post_id}/replies",
                                       data={"_csrf_token": paul_client.cookies["csrftoken"], "body": "Pour ma fille !"})
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

    _hood, (claire, paul) = await neighbours(2)
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


async def test_a_public_name_pointing_inside_is_refused_at_send_time(make_client, monkeypatch):
    """DNS may send a harmless-looking name to the internal network: the
    addresses are checked just before sending (the resolver is simulated here,
    the machine has no outside DNS)."""
    from app.notify import push

    asked = []

    async def resolver(host, port, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver)
    monkeypatch.setattr(push, "_resolved", {})
    _hood, (claire, paul) = await neighbours(2)
    post_id = await make_post(claire)
    client = await signed_in(make_client, claire)
    assert (await subscribe(client, {"endpoint": "https://push.example.net/send/abc", "keys": _valid_keys()})).status_code == 201
    await post_form(await signed_in(make_client, paul), f"/posts/{post_id}/replies", {"body": "Bonjour"})
    await post_form(await signed_in(make_client, paul), f"/posts/{post_id}/replies", {"body": "Encore moi"})
    await worker_round()
    assert await PushSubscription.count() == 0  # refused like a 4xx: the device is dropped
    assert asked == ["push.example.net"]  # one lookup, then the answer was remembered
