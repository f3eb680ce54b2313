"""Web push: the VAPID keys, checking endpoints, encrypting and sending one message.

Encryption (aes128gcm, RFC 8291) and the VAPID signature (RFC 8292) are the
`webpush` library's; this module decides what is sent where, and what the
push service's answer means for the delivery.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webpush import WebPush, WebPushSubscription
from webpush.vapid import VAPID

from app.settings import Settings

# RFC 8291 §4: a 4096-byte record minus the header (86), the tag (16) and the padding delimiter (1).
MAX_PAYLOAD = 3993
TTL_SECONDS = 48 * 3600
# The JWT lives 12 h (RFC 8292 allows 24 h at most); it is signed per message, which costs ~0.1 ms.
JWT_LIFETIME = 12 * 3600


def _b64decode(value: str) -> bytes:
    value = value.strip()
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass(frozen=True)
class VapidKeys:
    private_pem: bytes
    public_pem: bytes
    application_server_key: str  # base64url of the raw public point, for pushManager.subscribe()


def _load_private(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:  # the raw 32-byte scalar, base64url, as other push tools print it
        key = ec.derive_private_key(int.from_bytes(_b64decode(text), "big"), ec.SECP256R1())
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("VAPID key must be a P-256 private key")
    return key


@lru_cache(maxsize=4)
def vapid_keys(settings: Settings) -> VapidKeys:
    """From the environment or the database (app.db.keys), the same for every process."""
    if not settings.vapid_private_key:
        raise RuntimeError("the VAPID key is not loaded: app.db.keys.load() runs before anything pushes")
    key = _load_private(settings.vapid_private_key)
    public = key.public_key()
    return VapidKeys(
        private_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        public_pem=public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        application_server_key=VAPID.get_application_server_key(public),
    )


# Endpoints -------------------------------------------------------------------------

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _destination(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Where packets to this address end up: an IPv6 transition form (IPv4-mapped
    or -compatible, NAT64, 6to4, Teredo) carries them to the IPv4 address inside,
    which `is_global` does not look at."""
    if isinstance(ip, ipaddress.IPv4Address) or ip.is_loopback or ip.is_unspecified:
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client, whose bits Teredo stores inverted
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return ip


def address_refused(address: str, allow_loopback: bool) -> bool:
    ip = _destination(ipaddress.ip_address(address.split("%")[0]))
    if ip.is_loopback:
        return not allow_loopback
    if isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST:
        return True  # multicast, site-local, unique-local, link-local, local-use NAT64…
    return not ip.is_global or ip.is_multicast


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def endpoint_problem(endpoint: str, settings: Settings) -> str | None:
    """Why this endpoint may not be used (SSRF), from its text alone; None when it may."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "malformed"
    if (
        len(endpoint) > 1000
        or not endpoint.isascii()
        or not endpoint.isprintable()
        or not host
        or parts.username
        or parts.password
    ):
        return "malformed"
    loopback_http = settings.push_allow_loopback and parts.scheme == "http"
    if parts.scheme != "https" and not loopback_http:
        return "not https"
    if host in LOCAL_NAMES or host.endswith(".localhost") or host.endswith(".local") or host.endswith(".internal"):
        return None if settings.push_allow_loopback and host == "localhost" else "local name"
    if not _literal(host):
        # Plain http only ever to the test receiver on a loopback address; a
        # name's addresses are checked by checked_target().
        return "not https" if loopback_http else None
    if address_refused(host, settings.push_allow_loopback):
        return "private address"
    if loopback_http and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
        return "not https"
    return None


@dataclass(frozen=True)
class Target:
    """An endpoint as checked: why it is refused, or the addresses a push to it connects to."""

    problem: str | None
    addresses: tuple[str, ...] = ()


# A push service's few host names carry every message: one lookup a minute each, not one per push.
RESOLVE_TTL = 60.0
_resolved: dict[tuple[str, bool], tuple[float, Target]] = {}


async def checked_target(endpoint: str, settings: Settings) -> Target:
    """The endpoint's addresses, resolved once and every one of them checked:
    a public-looking name may point inside. Sending connects to these very
    addresses, so a name cannot change its answer between check and send."""
    if problem := endpoint_problem(endpoint, settings):
        return Target(problem)
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL:
        return Target("malformed")
    host = url.raw_host.decode("ascii")  # IDNA-encoded, as the TLS certificate names it
    if _literal(host):
        return Target(None, (host,))
    loop = asyncio.get_running_loop()
    key = (host.lower(), settings.push_allow_loopback)
    cached = _resolved.get(key)
    if cached and cached[0] > loop.time():
        return cached[1]
    try:
        infos = await loop.getaddrinfo(host, url.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return Target("unresolvable")  # not cached: the next try may resolve
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    refused = not addresses or any(address_refused(a, settings.push_allow_loopback) for a in addresses)
    target = Target("private address") if refused else Target(None, addresses)
    if len(_resolved) > 10_000:
        _resolved.clear()
    _resolved[key] = (loop.time() + RESOLVE_TTL, target)
    return target


def keys_problem(p256dh: str, auth: str) -> str | None:
    """The browser's keys must be a P-256 point and a 16-byte secret, or encryption would fail later."""
    try:
        point, secret = _b64decode(p256dh), _b64decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error, TypeError):
        return "bad keys"
    if len(point) != 65 or len(secret) != 16:
        return "bad keys"
    return None


# Messages -----------------------------------------------------------------------------


def payload(title: str, body: str, url: str, tag: str) -> bytes:
    """The JSON the service worker shows, cut to fit one record whatever the text's length."""

    def encode(text: str) -> bytes:
        return json.dumps(
            {"title": title[:100], "body": text, "url": url[:300], "tag": tag},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    encoded = encode(body)
    if len(encoded) <= MAX_PAYLOAD:
        return encoded
    low, high = 0, len(body)  # the longest cut that fits, found by halving
    while low < high:
        middle = (low + high + 1) // 2
        if len(encode(body[:middle] + "…")) <= MAX_PAYLOAD:
            low = middle
        else:
            high = middle - 1
    return encode(body[:low] + "…")


class _Origin(SimpleNamespace):
    """What `webpush` reads of the endpoint to build the JWT's audience: the
    origin, port included (RFC 8292 §2), which its own URL parsing drops."""


@dataclass
class Outcome:
    status: int | None  # None: the network failed
    retry_after: float | None = None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        # 404/410 say the subscription expired; other 4xx (but 408 and 429) will never succeed.
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)


class Sender:
    """Encrypts and POSTs; one per worker, reusing its HTTP connections."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        keys = vapid_keys(settings)
        subject = settings.vapid_subject.removeprefix("mailto:")
        self.webpush = WebPush(
            private_key=keys.private_pem,
            public_key=keys.public_pem,
            subscriber=subject,
            ttl=TTL_SECONDS,
            expiration=JWT_LIFETIME,
        )
        self._tokens: dict[str, tuple[float, str]] = {}
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False, limits=httpx.Limits(max_connections=50)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def encrypt(self, endpoint: str, p256dh: str, auth: str, data: bytes) -> tuple[bytes, dict[str, str]]:
        subscription = WebPushSubscription(endpoint=endpoint, keys={"p256dh": p256dh, "auth": auth})
        message = self.webpush.get(data, subscription)
        parts = urlsplit(endpoint)
        origin = _Origin(scheme=parts.scheme, host=parts.netloc.rsplit("@", 1)[-1])
        headers = dict(message.headers)
        headers["authorization"] = self._authorization(origin)
        return message.encrypted, headers

    def _authorization(self, origin: _Origin) -> str:
        # One JWT per push service for half its life, not one more signature per message.
        key = f"{origin.scheme}://{origin.host}"
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is None or cached[0] <= now:
            header = self.webpush.vapid.get_authorization_header(
                endpoint=origin, subscriber=self.webpush.subscriber, expiration=JWT_LIFETIME
            )
            cached = self._tokens[key] = (now + JWT_LIFETIME / 2, header)
        return cached[1]

    async def send(self, endpoint: str, p256dh: str, auth: str, data: bytes, *, topic: str, urgency: str) -> Outcome:
        target = await checked_target(endpoint, self.settings)
        if target.problem:
            return Outcome(status=400, error=f"refused: {target.problem}")
        body, headers = self.encrypt(endpoint, p256dh, auth, data)
        headers.update({"content-type": "application/octet-stream", "urgency": urgency})
        if topic:
            headers["topic"] = topic
        url = httpx.URL(endpoint)
        # The checked address in the URL; the name in the Host header, the TLS
        # server name and the certificate check.
        headers["host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": url.raw_host.decode("ascii")}
        error = ""
        for address in target.addresses:
            try:
                response = await self.client.post(
                    url.copy_with(host=address), content=body, headers=headers, extensions=extensions
                )
            except httpx.ConnectError as exc:  # this address is down: the service's next one may not be
                error = f"{type(exc).__name__}: {exc}"[:300]
                continue
            except httpx.HTTPError as exc:
                return Outcome(status=None, error=f"{type(exc).__name__}: {exc}"[:300])
            retry_after = response.headers.get("retry-after", "")
            return Outcome(
                status=response.status_code,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
                error="" if response.is_success else f"HTTP {response.status_code}",
            )
        return Outcome(status=None, error=error)
