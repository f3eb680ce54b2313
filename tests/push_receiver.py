"""A real HTTP push service on 127.0.0.1, standing in for the browser vendor's.

It holds a browser's key pair (generated here), decrypts every message with
`http_ece` as the browser would, checks the VAPID JWT like a push service
(for a subscription made with an application server key, that this key
signed it, refusing the message with 403 otherwise), and answers what the
test scripts: 201 by default, 410, 503s, or nothing at all while it is
stopped or stalled. Given a host name and a test certificate
authority, it serves https under that name, as a real push service does.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    message: dict | None  # the decrypted JSON, None when it could not be read
    jwt_claims: dict | None
    jwt_error: str = ""


@dataclass
class PushReceiver:
    port: int = 0
    decrypt: bool = True
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    script: list[int] = field(default_factory=list)  # statuses to answer next, then 201
    stall: threading.Event = field(default_factory=threading.Event)  # set: hold every answer
    address: str = "127.0.0.1"
    # https under this name, with a certificate for `certificate_name` (the same
    # by default) from `authority`; plain http without a name.
    name: str = ""
    authority: trustme.CA | None = None
    certificate_name: str = ""
    server_names: list[str] = field(default_factory=list)  # the TLS server names clients asked for

    def __post_init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        # The applicationServerKey each subscription was made with, by path.
        self._server_keys: dict[str, str] = {}
        self.start()

    # The browser's side ------------------------------------------------------------------
    def subscription(self, name: str = "device", application_server_key: str = "") -> dict:
        """What `PushSubscription.toJSON()` gives a page, after
        `pushManager.subscribe({applicationServerKey})` when a key is given:
        this service then accepts only messages signed with it."""
        if application_server_key:
            self._server_keys[f"/push/{name}"] = application_server_key
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": f"{self.origin}/push/{name}", "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    @property
    def origin(self) -> str:
        return f"https://{self.name}:{self.port}" if self.name else f"http://{self.address}:{self.port}"

    def messages(self) -> list[dict]:
        with self._lock:
            return [r.message for r in self.received if r.message is not None]

    # The service -------------------------------------------------------------------------
    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                accepted = receiver._record(self.path, dict(self.headers), body)
                while receiver.stall.is_set():
                    time.sleep(0.05)
                with receiver._lock:
                    status = receiver.script.pop(0) if receiver.script else 201
                if not accepted:
                    status = 403
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((self.address, self.port), Handler)
        self._server.daemon_threads = True
        if self.name:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.authority.issue_cert(self.certificate_name or self.name).configure_cert(context)
            context.sni_callback = lambda _sock, server_name, _ctx: self.server_names.append(server_name)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> bool:
        """Keeps what arrived; False when the subscription's key did not sign it."""
        headers = {k.lower(): v for k, v in headers.items()}
        message = claims = None
        error = ""
        if self.decrypt:
            try:
                plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
                message = json.loads(plain)
            except Exception as exc:  # noqa: BLE001 - recorded for the test to see
                error = f"decrypt: {exc}"
            claims, jwt_error = self._check_vapid(headers.get("authorization", ""), self._server_keys.get(path))
            error = error or jwt_error
        with self._lock:
            self.attempts += 1
            self.received.append(Received(path, headers, message, claims, error))
        return not (path in self._server_keys and claims is None)

    def _check_vapid(self, header: str, server_key: str | None = None) -> tuple[dict | None, str]:
        # RFC 8292: "vapid t=<JWT>, k=<public key>"; the JWT must verify with k,
        # and k be the key the subscription was made with, if any.
        try:
            scheme, _, rest = header.partition(" ")
            params = dict(part.strip().split("=", 1) for part in rest.split(","))
            assert scheme == "vapid"
            if server_key and params["k"] != server_key:
                return None, "vapid: signed with another key than the subscription's"
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(params["k"]))
            claims = jwt.decode(params["t"], key=key, algorithms=["ES256"], audience=self.origin)
            return claims, ""
        except Exception as exc:  # noqa: BLE001
            return None, f"vapid: {exc!r}"
