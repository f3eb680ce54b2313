"""Trust rules: who may post, given verification and suspension."""

from __future__ import annotations

from datetime import datetime, timezone

from app.i18n import _


def is_suspended(user) -> bool:
    return suspended_now(getattr(user, "suspended_until", None))


def suspended_now(until: datetime | None) -> bool:
    """For a bare `suspended_until` value, as queries return it."""
    if until is None:
        return False
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until > datetime.now(timezone.utc)


def posting_refusal(user, hood) -> str | None:
    """None when the user may post in this neighbourhood, else the French reason."""
    if is_suspended(user):
        return _("Votre compte est suspendu : vous ne pouvez pas publier pour le moment.")
    requires = bool(getattr(hood, "requires_verification", False) if not isinstance(hood, dict)
                    else hood.get("requires_verification"))
    if requires and getattr(user, "verification", "none") != "verified":
        return _("Ce quartier demande d'être voisin vérifié pour publier ou écrire en premier à quelqu'un.")
    return None


async def message_refusal(sender, recipient) -> str | None:
    """Writing first to someone: the quartier's verification rule applies (replying never needs it)."""
    from app.neighbourhoods import queries as hoods

    if is_suspended(sender):
        return _("Votre compte est suspendu : vous ne pouvez pas écrire pour le moment.")
    hood = await hoods.by_id(sender.neighbourhood) if sender.neighbourhood else None
    if hood is not None and hood.requires_verification and getattr(sender, "verification", "none") != "verified":
        return _("Ce quartier demande d'être voisin vérifié pour publier ou écrire en premier à quelqu'un.")
    return None
