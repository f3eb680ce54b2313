"""In-app notifications: the one hook every domain calls when someone should be told.

`notify()` stores the notifications and hands them to the listeners
registered with `on_notified` (web push registers one), so a reply is saved
and answered at once whatever happens to the delivery afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timezone

from app.db.keyset import Keyset, keyset_page
from app.notify.tables import Notification

KINDS = ("reply_to_post", "reply_in_thread", "message", "event", "help_match", "moderation", "loan", "ride", "alert")

_NEWEST_FIRST = Keyset(Notification.id, descending=True)
# Rows per INSERT: SQLite binds at most 32766 values in one statement, and an
# urgent alert reaches a whole quartier at once.
INSERT_CHUNK = 500


async def insert_all(table, rows: list) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        await table.insert(*rows[start : start + INSERT_CHUNK])


Listener = Callable[[list[Notification]], Awaitable[None]]
_listeners: list[Listener] = []


def on_notified(listener: Listener) -> Listener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


async def notify(
    user_ids: Iterable[int], kind: str, *, url: str, params: dict, actor_id: int | None = None
) -> list[Notification]:
    """Tells each user once (the actor never notifies themselves). `params`
    are what `app.notify.text.describe()` words in each reader's language:
    names, titles, ISO dates, and `what` happened within the kind."""
    targets = sorted({u for u in user_ids if u and u != actor_id})
    if not targets:
        return []
    params = {key: value[:300] if isinstance(value, str) else value for key, value in params.items()}
    rows = [Notification(user=u, kind=kind, actor=actor_id, url=url[:300], params=params) for u in targets]
    await insert_all(Notification, rows)
    for listener in list(_listeners):
        await listener(rows)
    return rows


# The badge says « 99+ » beyond this: counting further would cost more on every
# page of a neighbour who never reads them, and tell them nothing more.
UNREAD_SHOWN = 99


def unread_sql(user_column: str) -> str:
    """The unread count as a scalar subquery, for SQL that already reads the
    user's row (the session lookup of every request): one short index range."""
    return (
        f'(SELECT COUNT(*) FROM (SELECT 1 FROM notification n WHERE n."user" = {user_column} '
        f"AND n.read_at IS NULL LIMIT {UNREAD_SHOWN + 1}) unread)"
    )


async def unread_count(user_id: int) -> int:
    rows = await Notification.raw(f"SELECT {unread_sql('{}')} AS n", user_id)
    return rows[0]["n"]


async def latest(user_id: int, *, before_id: int | None = None, limit: int = 30) -> tuple[list[dict], int | None]:
    """A page of the user's notifications, newest first, and the next page's cursor."""
    return await keyset_page(
        Notification.select().where(Notification.user == user_id), _NEWEST_FIRST, cursor=before_id or None, size=limit
    )


async def mark_read(user_id: int, notification_id: int | None = None) -> None:
    query = Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.user == user_id) & Notification.read_at.is_null()
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    await query
