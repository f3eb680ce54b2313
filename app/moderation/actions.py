"""What moderators do to posts, each recorded in the audit log."""

from __future__ import annotations

from app.i18n import gettext
from app.moderation.audit import audit
from app.moderation.tables import ModerationAction
from app.notify.queries import notify
from app.posts.tables import Post

# action → column changes (app.moderation.audit says which are public)
ACTIONS = {
    "hide": {Post.status: "hidden"},
    "restore": {Post.status: "open", Post.hidden_reason: ""},
    "pin": {Post.pinned: True},
    "unpin": {Post.pinned: False},
    "lock": {Post.locked: True},
    "unlock": {Post.locked: False},
}


async def act_on_post(moderator, post: dict, action: str, reason: str) -> None:
    values = dict(ACTIONS[action])
    if action == "hide":
        values[Post.hidden_reason] = reason
    async with Post._meta.db.transaction():
        await Post.update(values).where(Post.id == post["id"])
        await audit(moderator, action, "post", post["id"], reason, neighbourhood=post["neighbourhood"],
                    target_user=post["author"])
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
