"""The instance's keys, kept in the database that every process shares.

The secret key signs CSRF tokens, address candidates, device cookies and
letter codes; the VAPID key pair signs web pushes. Every app process and
worker must hold the same ones: a form from one host posted to another, or a
push signed with a key the subscription was not made for, would fail. So they
are made once, into the database (and so into its backups), unless the
environment gives them (`VOISINAGE_SECRET_KEY`, `VOISINAGE_VAPID_PRIVATE_KEY`):
the environment wins, and nothing is then written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from piccolo.columns import Text, Varchar
from piccolo.table import Table

from app.settings import Settings, use_database_keys


class InstanceKey(Table, tablename="instance_key"):
    name = Varchar(length=40, primary_key=True)
    value = Text()


def _new_secret() -> str:
    return secrets.token_urlsafe(48)


def _new_vapid_key() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


MAKERS: dict[str, tuple[str, Callable[[], str]]] = {
    "secret_key": ("VOISINAGE_SECRET_KEY", _new_secret),
    "vapid_private_key": ("VOISINAGE_VAPID_PRIVATE_KEY", _new_vapid_key),
}


async def kept(candidates: dict[str, str]) -> dict[str, str]:
    """Each key as the database keeps it: the candidate where there was none
    yet. Processes starting together each offer their own candidate; the
    first insert wins and all of them read that one back."""
    if not candidates:
        return {}
    async with InstanceKey._meta.db.transaction():
        await InstanceKey.insert(*[InstanceKey(name=n, value=v) for n, v in candidates.items()]).on_conflict(
            target=InstanceKey.name, action="DO NOTHING"
        )
        found = await InstanceKey.select(InstanceKey.name, InstanceKey.value).where(
            InstanceKey.name.is_in(list(candidates))
        )
    return {row["name"]: row["value"] for row in found}


async def load() -> Settings:
    """Once per process, before serving or sending: the settings with every
    key the environment does not give read from the database (made there on
    the very first start)."""
    candidates = {name: make() for name, (variable, make) in MAKERS.items() if not os.environ.get(variable)}
    return use_database_keys(await kept(candidates))
