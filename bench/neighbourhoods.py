"""Finding the quartier of an address with 50,000 areas loaded (about the
number of IRIS in France).

    python -m bench.neighbourhoods                    # SQLite, in a throwaway data folder
    DATABASE_URL=postgresql://… python -m bench.neighbourhoods
                                                      # PostgreSQL: adds its rows, removes them after
    python -m bench.neighbourhoods --areas 10000 --points 500

A synthetic grid over metropolitan France: each cell a polygon of 48 vertices
with wavy edges, so that shapely has real work and the JSON a realistic size.
Prints the import time (the code `voisinage import-neighbourhoods` runs) and,
per point, the lookup the signup does (`queries.containing`: spatial index,
then shapely), next to the same lookup through the bounding-box columns alone
(the lookup before the spatial index).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import tempfile
import time

WEST, SOUTH, EAST, NORTH = -4.8, 42.3, 8.2, 51.1
SLUG = "bench-grid-"


def grid(areas: int) -> list[dict]:
    columns = int(math.sqrt(areas * (EAST - WEST) / (NORTH - SOUTH)))
    rows = math.ceil(areas / columns)
    width, height = (EAST - WEST) / columns, (NORTH - SOUTH) / rows
    features = []
    for n in range(areas):
        x0, y0 = WEST + (n % columns) * width, SOUTH + (n // columns) * height
        ring = []
        for _side, (sx, sy, dx, dy) in enumerate(((0, 0, 1, 0), (1, 0, 0, 1), (1, 1, -1, 0), (0, 1, 0, -1))):
            for k in range(12):
                t = k / 12
                # Shared edges wave the same way on both sides, so neighbours tile without gaps.
                wave = 0.08 * math.sin(math.pi * t) * math.sin(3 * math.pi * t)
                x = x0 + (sx + dx * t) * width + (wave * width if dy else 0)
                y = y0 + (sy + dy * t) * height + (wave * height if dx else 0)
                ring.append([round(x, 6), round(y, 6)])
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "slug": f"{SLUG}{n}",
                    "name": f"Secteur {n}",
                    "city": "Banc d'essai",
                    "postcode": "",
                    "area_code": str(n),
                },
            }
        )
    return features


async def lookup_times(points, lookup) -> tuple[list[float], float]:
    """Wall time of each lookup, and the CPU time of this process (all its
    threads, so SQLite's too) per lookup: on a busy machine the wall clock
    also counts the waits for a core."""
    times = []
    cpu = time.process_time()
    for lat, lon in points:
        started = time.perf_counter()
        await lookup(lat, lon)
        times.append(time.perf_counter() - started)
    return times, (time.process_time() - cpu) / len(points)


def _report(label: str, measured: tuple[list[float], float], found: int) -> None:
    times, cpu = sorted(measured[0]), measured[1]
    print(
        f"{label}: {statistics.mean(times) * 1000:.3f} ms per point on average, "
        f"p50 {times[len(times) // 2] * 1000:.3f} ms, p99 {times[int(len(times) * 0.99)] * 1000:.3f} ms, "
        f"CPU {cpu * 1000:.3f} ms ({found}/{len(times)} points found in an area)"
    )


async def main(areas: int, points: int) -> None:
    from app.migrating import migrate
    from app.neighbourhoods import geometry, importing, queries
    from app.neighbourhoods.tables import Neighbourhood
    from app.piccolo_conf import DB

    # Removing 50,000 areas checks every table that points at them: no statement timeout (app.db.postgres).
    await DB.start_connection_pool(bounded=False)
    try:
        await migrate(quiet=True)
        await Neighbourhood.delete().where(Neighbourhood.slug.like(f"{SLUG}%"))
        features = grid(areas)
        started = time.perf_counter()
        await importing.save(importing.Areas(features, "forming", "iris"))
        print(f"{DB.engine_type}: {areas:,} areas imported in {time.perf_counter() - started:.1f} s")

        rng = random.Random(7)
        sample = [(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)) for _ in range(points)]
        await lookup_times(sample[:50], lambda lat, lon: queries.containing(lat, lon, "forming"))  # warm caches

        async def spatial(lat, lon):
            return await queries.containing(lat, lon, "forming")

        async def bbox_columns(lat, lon):
            rows = await Neighbourhood.raw(
                "SELECT * FROM neighbourhood WHERE status = {} AND min_lat <= {} AND max_lat >= {} "
                "AND min_lon <= {} AND max_lon >= {}",
                "forming",
                lat,
                lat,
                lon,
                lon,
            )
            return next((r for r in rows if geometry.contains(r["boundary"], lat, lon)), None)

        found = [await spatial(lat, lon) for lat, lon in sample]
        _report("spatial index (now)", await lookup_times(sample, spatial), sum(f is not None for f in found))
        few = sample[: max(20, points // 10)]
        _report(
            "bounding-box columns only (before)",
            await lookup_times(few, bbox_columns),
            sum([await bbox_columns(lat, lon) is not None for lat, lon in few]),
        )
    finally:
        await Neighbourhood.delete().where(Neighbourhood.slug.like(f"{SLUG}%"))
        await DB.close_connection_pool()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=2_000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["VOISINAGE_DATA_DIR"] = tempfile.mkdtemp(prefix="voisinage-bench-")
    os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
    asyncio.run(main(args.areas, args.points))
