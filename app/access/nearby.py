"""Quartiers voisins: what a neighbour may see and do in the quartiers next
to theirs. A post its author showed to the quartiers voisins ("Visible aussi
par les quartiers voisins") can be read, answered and signed up to from them;
everything else of a quartier (its other posts, its members' profiles, their
messages) stays closed to them. The pairs are computed by
app.neighbourhoods.nearby."""

from __future__ import annotations

from app.access.viewers import as_viewer
from app.neighbourhoods.tables import NeighbourhoodNearby


async def nearby_ids(neighbourhood_id: int | None) -> list[int]:
    """The quartiers voisins of a quartier, by the (neighbourhood, nearby) index."""
    if not neighbourhood_id:
        return []
    rows = await NeighbourhoodNearby.select(NeighbourhoodNearby.nearby).where(
        NeighbourhoodNearby.neighbourhood == neighbourhood_id
    )
    return [r["nearby"] for r in rows]


async def are_nearby(first: int | None, second: int | None) -> bool:
    if not first or not second or first == second:
        return False
    return await NeighbourhoodNearby.exists().where(
        (NeighbourhoodNearby.neighbourhood == first) & (NeighbourhoodNearby.nearby == second)
    )


async def reads_from_nearby(viewer, post: dict) -> bool:
    """The viewer lives in a quartier voisin of the post's, which the author showed it to."""
    viewer = as_viewer(viewer)
    return bool(post.get("nearby")) and await are_nearby(viewer.neighbourhood, post["neighbourhood"])
