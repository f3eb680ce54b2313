"""What moderators do to posts, each recorded in the audit log."""

from __future__ import annotations

from app.i18n import gettext
from app.moderation.tables import ModerationAction
from app.notify.queries import notify
from app.posts.tables import Post

# action → (column changes, shown in the public log, French label)
ACTIONS = {
    "hide": ({Post.status: "hidden"}, True),
    "restore": ({Post.status: "open", Post.hidden_reason: ""}, True),
    "pin": ({Post.pinned: True}, False),
    "unpin": ({Post.pinned: False}, False),
    "lock": ({Post.locked: True}, True),
    "unlock": ({Post.locked: False}, True),
}


async def act_on_post(moderator, post: dict, action: str, reason: str) -> None:
    changes, public = ACTIONS[action]
    values = dict(changes)
    if action == "hide":
        values[Post.hidden_reason] = reason
    async with Post._meta.db.transaction():
        await Post.update(values).where(Post.id == post["id"])
        await ModerationAction.insert(ModerationAction(
            moderator=moderator.id, neighbourhood=post["neighbourhood"], action=action, target_type="post",
            target_id=post["id"], target_user=post["author"], reason=reason, public=public))
    if post["author"] and action in ("hide", "restore"):
        text = (gettext("Votre annonce « %(title)s » a été masquée par la modération : %(reason)s", title=post["title"],
                        reason=reason) if action == "hide"
                else gettext("Votre annonce « %(title)s » est de nouveau visible.", title=post["title"]))
        await notify([post["author"]], "moderation", url=f"/posts/{post['id']}", text=text, actor_id=moderator.id)


async def public_log(hood_id: int, limit: int = 50) -> list[dict]:
    """What was removed and why, without who reported it nor who moderated."""
    return await ModerationAction.select(
        ModerationAction.action, ModerationAction.reason, ModerationAction.created_at, ModerationAction.target_id,
    ).where((ModerationAction.neighbourhood == hood_id) & (ModerationAction.public == True)).order_by(  # noqa: E712
        ModerationAction.id, ascending=False).limit(limit)
