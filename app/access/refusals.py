"""Why someone may not publish or write right now, in words shown next to the
field: a suspension, or a quartier that asks for verified neighbours."""

from __future__ import annotations

from app.access.viewers import suspension
from app.i18n import _


def _verification_refusal(user, neighbourhood) -> str | None:
    requires = bool(
        getattr(neighbourhood, "requires_verification", False)
        if not isinstance(neighbourhood, dict)
        else neighbourhood.get("requires_verification")
    )
    if requires and getattr(user, "verification", "none") != "verified":
        return _("Ce quartier demande un compte vérifié pour publier ou écrire en premier à quelqu'un.")
    return None


def posting_refusal(user, neighbourhood) -> str | None:
    """None when the user may post (annonce or event) in this neighbourhood, else the reason."""
    if suspension(user):
        return _("Votre compte est suspendu : vous ne pouvez pas publier pour le moment.")
    return _verification_refusal(user, neighbourhood)


def message_refusal(sender, neighbourhood) -> str | None:
    """Writing first to someone: the quartier's verification rule applies
    (replying never needs it). `neighbourhood` is the sender's quartier."""
    if suspension(sender):
        return _("Votre compte est suspendu : vous ne pouvez pas écrire pour le moment.")
    return _verification_refusal(sender, neighbourhood)


def reply_refusal(user, post: dict) -> str | None:
    """Replying under a post: a locked thread first, then a suspension."""
    if post["locked"]:
        return _("Les réponses sont fermées pour cette annonce.")
    if suspension(user):
        return _("Votre compte est suspendu : vous ne pouvez pas répondre.")
    return None
