"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import socket
from email.message import Message

from aiosmtpd.controller import Controller

from app.settings import get_settings


class _Keep:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []
        # The envelope sender (MAIL FROM) of each message, where bounces go.
        self.mail_from: list[str] = []
        # Addresses this server refuses for good, as a mailbox that does not exist.
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.raw.append(envelope.content)
        self.mail_from.append(envelope.mail_from)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Mailbox:
    def __init__(self, keeper: _Keep) -> None:
        self._keeper = keeper

    @property
    def messages(self) -> list[Message]:
        return self._keeper.messages

    @property
    def raw(self) -> list[bytes]:
        return self._keeper.raw

    def envelope_sender(self, msg: Message) -> str:
        return self._keeper.mail_from[next(i for i, kept in enumerate(self.messages) if kept is msg)]

    def refuse(self, address: str) -> None:
        self._keeper.refused.add(address)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, to: str, timeout: float = 5.0) -> Message:
        for _ in range(int(timeout * 20)):
            for msg in self.messages:
                if msg["To"] == to:
                    return msg
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {to}; got {[m['To'] for m in self.messages]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server():
    keeper = _Keep()
    port = _free_port()
    controller = Controller(keeper, hostname="127.0.0.1", port=port)
    controller.start()
    old = os.environ.get("VOISINAGE_SMTP_URL")
    os.environ["VOISINAGE_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    get_settings.cache_clear()
    try:
        yield Mailbox(keeper)
    finally:
        controller.stop()
        if old is None:
            os.environ.pop("VOISINAGE_SMTP_URL", None)
        else:
            os.environ["VOISINAGE_SMTP_URL"] = old
        get_settings.cache_clear()


def body_of(msg: Message) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


def part(msg: Message, subtype: str) -> str:
    """The text/plain or text/html part of a multipart mail, decoded."""
    for piece in msg.walk():
        if piece.get_content_type() == f"text/{subtype}":
            return piece.get_payload(decode=True).decode(piece.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")
