"""The audit log: every moderation act and every audited change to an account
or a quartier is written here, by one function. Moderators read it whole
(/moderation/log); the actions in PUBLIC also make the quartier's public log,
without who did them."""

from __future__ import annotations

from app.moderation.tables import ModerationAction

PUBLIC = frozenset(
    {
        "hide",
        "restore",
        "lock",
        "unlock",  # posts (pinning is not news)
        "hide_reply",
        "restore_reply",
        "require_verified",
        "open_to_all",  # the quartier's rule for publishing
    }
)


async def audit(
    actor,
    action: str,
    target_type: str,
    target_id: int,
    reason: str = "",
    *,
    neighbourhood: int,
    target_user: int | None = None,
) -> None:
    """`actor` is the moderator or admin, None when no person acted (the
    community safety net, a neighbour verified by vouches or by letter).
    Called inside the change's transaction where the change has one."""
    await ModerationAction.insert(
        ModerationAction(
            moderator=actor.id if actor is not None else None,
            neighbourhood=neighbourhood,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_user=target_user,
            reason=reason,
            public=action in PUBLIC,
        )
    )
