"""Password hashing (argon2id at OWASP/ASVS parameters) and strength rules."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.i18n import _

MIN_LENGTH = 8
MAX_LENGTH = 256

# 19 MiB, 2 passes, 1 lane: the ASVS / OWASP minimum for argon2id, about
# 30 ms here — dear enough for an attacker, cheap enough for a login burst.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY = _hasher.hash("voisinage-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Always spends one hash, even for an unknown account, so timing does not
    tell which emails are registered."""

    def check() -> bool:
        try:
            return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def password_problem(password: str, *, email: str = "", names: tuple[str, ...] = ()) -> str | None:
    if len(password) < MIN_LENGTH:
        return _("Le mot de passe doit contenir au moins %(n)s caractères.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Le mot de passe ne peut pas dépasser %(n)s caractères.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        return _("Ce mot de passe est trop courant. Choisissez-en un plus difficile à deviner, une phrase par exemple.")
    personal = [email.split("@")[0].lower(), *(n.lower() for n in names)]
    if any(p and len(p) >= 3 and lowered in (p, p + "123", p + "1234") for p in personal):
        return _("Le mot de passe ne doit pas reprendre votre nom ou votre adresse e-mail.")
    return None
