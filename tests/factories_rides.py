"""Rides as drivers offer them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.rides import queries


async def make_ride(
    driver,
    *,
    title: str = "Marché de Dijon samedi",
    origin: str = "Place du marché",
    destination: str = "Dijon, gare",
    in_days: float = 2,
    seats: int = 3,
    returns_in_days: float | None = None,
) -> int:
    departs = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=in_days)
    returns = departs + timedelta(days=returns_in_days) if returns_in_days is not None else None
    return await queries.create_ride(
        author=driver,
        title=title,
        body="Je pars tôt, retour en fin de matinée.",
        photos=[],
        origin=origin,
        destination=destination,
        departs_at=departs,
        returns_at=returns,
        seats=seats,
    )
