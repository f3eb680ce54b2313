"""Recommendations of local businesses: who counts, who sees, who moderates.

An entry is seen by the neighbours of the quartiers where it is recommended
and of their quartiers voisins: a viewer sees it when at least one visible
recommendation comes from an address-checked member of their quartier or of
one of its voisins, and sees only those recommendations (a far quartier's
words stay with it). Only address-checked members recommend and count."""

from __future__ import annotations

from app.access.moderators import can_moderate
from app.access.nearby import nearby_ids
from app.access.viewers import as_viewer
from app.recommendations.tables import Recommendation

# Members whose address was checked at signup, and those verified since.
COUNTED = ("address_checked", "verified")


def may_recommend(viewer) -> bool:
    viewer = as_viewer(viewer)
    return bool(viewer.neighbourhood) and viewer.verification in COUNTED


async def recommendation_area(viewer) -> list[int]:
    """The viewer's quartier and its quartiers voisins ([] for anyone without a quartier)."""
    viewer = as_viewer(viewer)
    if not viewer.neighbourhood:
        return []
    return [viewer.neighbourhood, *await nearby_ids(viewer.neighbourhood)]


async def can_see_business(viewer, business_id: int, area: list[int] | None = None) -> bool:
    area = await recommendation_area(viewer) if area is None else area
    if not area:
        return False
    return await Recommendation.exists().where(
        (Recommendation.business == business_id)
        & (Recommendation.hidden == False)  # noqa: E712 - SQL
        & Recommendation.author.neighbourhood.is_in(area)
        & Recommendation.author.verification.is_in(list(COUNTED))
    )


async def can_hide_recommendation(viewer, recommendation: dict) -> bool:
    """The moderators of the quartier where it was written."""
    return await can_moderate(viewer, recommendation["neighbourhood"])
