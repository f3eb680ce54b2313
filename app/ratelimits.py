"""Rate limits shared by every server process and host: the counts live in the
database, one row per key and window, one statement per attempt.

A window opens at a key's first attempt and lasts `window` seconds; the
attempt that opens it counts 1, each later one adds 1, and once the window
has ended the next attempt opens a new one. The insert-or-increment is a
single `INSERT … ON CONFLICT DO UPDATE … RETURNING`, so two processes counting
the same key at once both count (SQLite ≥ 3.35 and PostgreSQL alike).

Keys name what is counted ("signup:<address>", "signup-taken-mail:<email>"):
they are stored as an HMAC under the site's secret, so the table holds no
email or network address, and its rows cannot be matched against a list of
guesses without the secret. Rows whose window has ended are pruned by
`prune()`, a background job (app.main.background_loops).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.table import Table

from app.settings import get_settings


class RateLimit(Table, tablename="rate_limit"):
    """Attempts counted under one key (an HMAC) in its current window."""

    key_hash = Varchar(length=64, unique=True)
    hits = Integer(default=0)
    # Pruning deletes by this: an index range, not a scan.
    expires_at = Timestamptz(index=True)


def key_hash(key: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"rate:{key}".encode(), hashlib.sha256).hexdigest()


async def hit(key: str, most: int, window: float) -> bool:
    """Counts one attempt under `key`; False when it is beyond `most` in the
    current window of `window` seconds."""
    now = datetime.now(timezone.utc)
    rows = await RateLimit.raw(
        "INSERT INTO rate_limit (key_hash, hits, expires_at) VALUES ({}, 1, {}) "
        "ON CONFLICT (key_hash) DO UPDATE SET "
        "hits = CASE WHEN rate_limit.expires_at <= {} THEN 1 ELSE rate_limit.hits + 1 END, "
        "expires_at = CASE WHEN rate_limit.expires_at <= {} THEN {} ELSE rate_limit.expires_at END "
        "RETURNING hits",
        key_hash(key),
        now + timedelta(seconds=window),
        now,
        now,
        now + timedelta(seconds=window),
    )
    return rows[0]["hits"] <= most


async def prune() -> None:
    """Deletes the counts whose window has ended."""
    await RateLimit.delete().where(RateLimit.expires_at <= datetime.now(timezone.utc))
