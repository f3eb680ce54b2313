"""What moderators do to posts, each recorded in the audit log, and the
names of every action that log records."""

from __future__ import annotations

from app.i18n import N_
from app.moderation.audit import audit
from app.moderation.tables import ModerationAction
from app.notify.queries import notify
from app.posts.tables import Post
from app.templating import labeller

# action → column changes (app.moderation.audit says which are public)
ACTIONS = {
    "hide": {Post.status: "hidden"},
    "restore": {Post.status: "open", Post.hidden_reason: ""},
    "pin": {Post.pinned: True},
    "unpin": {Post.pinned: False},
    "lock": {Post.locked: True},
    "unlock": {Post.locked: False},
}

# Every action the audit log records, on posts and on people, as the logs name it.
LABELS = {
    "hide": N_("Annonce masquée"),
    "restore": N_("Annonce rendue visible"),
    "lock": N_("Réponses fermées"),
    "unlock": N_("Réponses rouvertes"),
    "pin": N_("Annonce épinglée"),
    "unpin": N_("Annonce désépinglée"),
    "hide_reply": N_("Réponse masquée"),
    "hide_recommendation": N_("Recommandation masquée"),
    "restore_reply": N_("Réponse rendue visible"),
    "suspend": N_("Compte suspendu"),
    "unsuspend": N_("Suspension levée"),
    "verify_moderator": N_("Vérifié par la modération"),
    "verify_vouch": N_("Vérifié par deux voisins garants"),
    "verify_letter": N_("Vérifié par courrier"),
    "letter": N_("Lettre de vérification imprimée"),
    "appoint": N_("Nommé modérateur"),
    "dismiss": N_("Retiré de la modération"),
    "require_verified": N_("Publier demande d'être vérifié"),
    "open_to_all": N_("Publier est ouvert à tous les voisins"),
    "remove_photo": N_("Photo de profil retirée"),
}

# What the moderation domain gives every template (app.main hands it to app.templating).
TEMPLATE_GLOBALS = {"action_label": labeller(LABELS)}


async def act_on_post(moderator, post: dict, action: str, reason: str) -> None:
    values = dict(ACTIONS[action])
    if action == "hide":
        values[Post.hidden_reason] = reason
    async with Post._meta.db.transaction():
        await Post.update(values).where(Post.id == post["id"])
        await audit(
            moderator,
            action,
            "post",
            post["id"],
            reason,
            neighbourhood=post["neighbourhood"],
            target_user=post["author"],
        )
    if post["author"] and action in ("hide", "restore"):
        what = "post_hidden" if action == "hide" else "post_restored"
        await notify(
            [post["author"]],
            "moderation",
            url=f"/posts/{post['id']}",
            params={"what": what, "title": post["title"], "reason": reason},
            actor_id=moderator.id,
        )


async def public_log(neighbourhood_id: int, limit: int = 50) -> list[dict]:
    """What was removed and why, without who reported it nor who moderated."""
    return (
        await ModerationAction.select(
            ModerationAction.action,
            ModerationAction.reason,
            ModerationAction.created_at,
            ModerationAction.target_id,
        )
        .where((ModerationAction.neighbourhood == neighbourhood_id) & (ModerationAction.public == True))  # noqa: E712 - SQL
        .order_by(ModerationAction.id, ascending=False)
        .limit(limit)
    )
