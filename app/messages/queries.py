"""Private conversations between two neighbours.

A conversation is one row per pair (and per post it is about), with an unread
counter per side kept in step with the messages, so the inbox never counts rows.
"""

from __future__ import annotations

from datetime import datetime, timezone

from app import live
from app.db.keyset import Keyset, keyset_page
from app.db.rows import rows
from app.messages.tables import Conversation, Message

_NEWEST_FIRST = Keyset("m.id", descending=True)
_OLDEST_FIRST = Keyset("m.id")
_MESSAGES_SQL = (
    "SELECT m.id, m.body, m.created_at, m.sender, a.first_name AS sender_first_name, a.last_name AS sender_last_name "
    "FROM message m LEFT JOIN account a ON a.id = m.sender WHERE m.conversation = {}"
)


def live_topic(conversation_id: int) -> str:
    """What app.live calls the news of one conversation."""
    return f"conversation:{conversation_id}"


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


async def conversation_by_id(conversation_id: int) -> dict | None:
    """Whether the viewer may read it is app.access.in_conversation."""
    return (
        await Conversation.select(
            Conversation.all_columns(),
            Conversation.post.title.as_alias("post_title"),
        )
        .where(Conversation.id == conversation_id)
        .first()
    )


async def inbox(user_id: int, blocked: list[int], *, limit: int = 30) -> list[dict]:
    sql = (
        "SELECT c.id, c.post, c.last_message_at, "
        "CASE WHEN c.user_a = {} THEN c.a_unread ELSE c.b_unread END AS unread, "
        "u.id AS other_id, u.first_name AS other_first_name, u.last_name AS other_last_name, p.title AS post_title "
        "FROM conversation c "
        "LEFT JOIN account u ON u.id = CASE WHEN c.user_a = {} THEN c.user_b ELSE c.user_a END "
        "LEFT JOIN post p ON p.id = c.post "
        "WHERE (c.user_a = {} OR c.user_b = {})"
    )
    args: list = [user_id, user_id, user_id, user_id]
    if blocked:
        sql += f" AND (u.id IS NULL OR u.id NOT IN ({', '.join('{}' for _ in blocked)}))"
        args.extend(blocked)
    sql += " ORDER BY c.last_message_at DESC LIMIT {}"
    args.append(limit)
    return await rows(Conversation.raw(sql, *args))


async def unread_total(user_id: int) -> int:
    rows = await Conversation.raw(
        "SELECT COALESCE(SUM(CASE WHEN user_a = {} THEN a_unread ELSE b_unread END), 0) AS n "
        "FROM conversation WHERE user_a = {} OR user_b = {}",
        user_id,
        user_id,
        user_id,
    )
    return int(rows[0]["n"] or 0)


async def messages_of(
    conversation_id: int, *, before: int | None = None, limit: int = 50
) -> tuple[list[dict], int | None]:
    """The latest messages, oldest first on the page; `before` pages back."""
    page, older = await keyset_page(
        Message.raw(_MESSAGES_SQL, conversation_id), _NEWEST_FIRST, cursor=before or None, size=limit
    )
    return list(reversed(page)), older


async def messages_after(
    conversation_id: int, after: int, *, blocked: list[int] | None = None, limit: int = 50
) -> list[dict]:
    """What came after message `after` (an open conversation's news), oldest
    first, none from the blocked."""
    sql, args = _MESSAGES_SQL, [conversation_id]
    if blocked:
        sql += f" AND (m.sender IS NULL OR m.sender NOT IN ({', '.join('{}' for _ in blocked)}))"
        args += blocked
    page, _later = await keyset_page(Message.raw(sql, *args), _OLDEST_FIRST, cursor=after, size=limit)
    return page


async def has_written_to(sender_id: int, recipient_id: int) -> bool:
    """Whether the recipient ever wrote to the sender first (then replying is always allowed)."""
    a, b = _pair(sender_id, recipient_id)
    rows = await Message.raw(
        "SELECT 1 AS ok FROM message m JOIN conversation c ON c.id = m.conversation "
        "WHERE c.user_a = {} AND c.user_b = {} AND m.sender = {} LIMIT 1",
        a,
        b,
        recipient_id,
    )
    return bool(rows)


async def send(
    sender_id: int, recipient_id: int, body: str, *, post_id: int | None = None, conversation_id: int | None = None
) -> int:
    """Adds the message, creating the conversation the first time; returns the conversation id."""
    a, b = _pair(sender_id, recipient_id)
    now = datetime.now(timezone.utc)
    async with live.announcing(Conversation._meta.db) as announce:
        if conversation_id is None:
            query = Conversation.select(Conversation.id).where((Conversation.user_a == a) & (Conversation.user_b == b))
            query = query.where(Conversation.post == post_id) if post_id else query.where(Conversation.post.is_null())
            existing = await query.first()
            if existing:
                conversation_id = existing["id"]
            else:
                rows = await Conversation.insert(Conversation(user_a=a, user_b=b, post=post_id, last_message_at=now))
                conversation_id = rows[0]["id"]
        added = await Message.insert(Message(conversation=conversation_id, sender=sender_id, body=body, created_at=now))
        unread = Conversation.b_unread if sender_id == a else Conversation.a_unread
        await Conversation.update({unread: unread + 1, Conversation.last_message_at: now}).where(
            Conversation.id == conversation_id
        )
        announce(live_topic(conversation_id), added[0]["id"])
    return conversation_id


async def mark_read(conversation: dict, user_id: int) -> None:
    column = Conversation.a_unread if conversation["user_a"] == user_id else Conversation.b_unread
    await Conversation.update({column: 0}).where(Conversation.id == conversation["id"])


async def message_by_id(message_id: int) -> dict | None:
    return (
        await Message.select(Message.all_columns(), Message.conversation.user_a, Message.conversation.user_b)
        .where(Message.id == message_id)
        .first()
    )
