"""Urgent alerts: a published one (or one ended or gone) is the quartier's to
read; a proposal, and a refused one, only its author's and the moderators'.
Deciding (approve, refuse, end) is the moderators' alone."""

from __future__ import annotations

from app.access.moderators import can_moderate, lives_in
from app.access.viewers import NotFound, as_viewer


async def can_see_alert(viewer, alert: dict | None) -> bool:
    viewer = as_viewer(viewer)
    if alert is None or viewer.id is None:
        return False
    if await can_moderate(viewer, alert["neighbourhood"]):
        return True
    if alert["status"] in ("published", "ended"):
        return lives_in(viewer, alert["neighbourhood"])
    return alert["author"] == viewer.id and lives_in(viewer, alert["neighbourhood"])


async def ensure_can_decide_alert(viewer, alert: dict | None) -> None:
    """404 for anyone but the quartier's moderators: a proposal does not exist for the others."""
    if alert is None or not await can_moderate(viewer, alert["neighbourhood"]):
        raise NotFound()
