"""The right of access (RGPD art. 15 and 20): everything a neighbour gave and
did, in a machine-readable archive, and nothing of anyone else's private data."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime

from app.accounts.tables import User, UserSkill
from app.events.tables import Signup
from app.messages.tables import Message
from app.moderation.tables import Block, Report, Vouch
from app.notify.tables import Notification
from app.posts.photos import path_for
from app.posts.tables import Loan, Photo, Post, Reply

PRIVATE_USER_FIELDS = ("password_hash", "calendar_token_hash")


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


async def export_archive(user_id: int, uploads) -> bytes:
    profile = await User.select().where(User.id == user_id).first()
    for field in PRIVATE_USER_FIELDS:
        profile.pop(field, None)
    posts = await Post.select().where(Post.author == user_id).order_by(Post.id)
    photos = await Photo.select().where(Photo.owner == user_id).order_by(Photo.id)
    data = {
        "format": "voisinage-export/1",
        "exported_at": datetime.now().astimezone().isoformat(),
        "profile": {k: _plain(v) for k, v in profile.items()},
        "skills": [r["skill"] for r in await UserSkill.select(UserSkill.skill).where(UserSkill.user == user_id)],
        "posts": _rows(posts),
        "photos": _rows(photos),
        "replies": _rows(await Reply.select().where(Reply.author == user_id).order_by(Reply.id)),
        # Only what this person wrote: the other side of a conversation is theirs.
        "messages_sent": _rows(await Message.select(Message.id, Message.conversation, Message.body, Message.created_at)
                               .where(Message.sender == user_id).order_by(Message.id)),
        "event_signups": _rows(await Signup.select(Signup.event, Signup.status, Signup.position, Signup.created_at)
                               .where(Signup.user == user_id)),
        "loans": _rows(await Loan.select().where((Loan.lender == user_id) | (Loan.borrower == user_id))),
        "notifications": _rows(await Notification.select(Notification.kind, Notification.url, Notification.text,
                                                         Notification.created_at, Notification.read_at)
                               .where(Notification.user == user_id).order_by(Notification.id)),
        "reports_made": _rows(await Report.select(Report.target_type, Report.target_id, Report.reason, Report.text,
                                                  Report.created_at).where(Report.reporter == user_id)),
        "blocked": [r["blocked"] for r in await Block.select(Block.blocked).where(Block.blocker == user_id)],
        "vouched_for": [r["vouchee"] for r in await Vouch.select(Vouch.vouchee).where(Vouch.voucher == user_id)],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("voisinage.json", json.dumps(data, ensure_ascii=False, indent=2))
        for photo in photos:
            path = path_for(uploads, photo["name"], "large")
            if path.exists():
                archive.write(path, f"photos/{photo['name']}.webp")
    return buffer.getvalue()
