from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "waiting lists: quartiers born from a waiting list lose the first neighbour's house number"

# A copy of app.neighbourhoods.queries.street_of and _slugify as they were when
# this ran: a migration does the same thing whatever the app later becomes.
_HOUSE_NUMBER = r"^\s*\d+\s*(?:(?:bis|ter|quater)\b|[a-z]\b)?[\s,]*"
_POSTCODE_AND_TOWN = r"[\s,]*\b\d{5}\b.*$"


def _street_of(label: str) -> str:
    import re

    street = re.sub(_HOUSE_NUMBER, "", label, count=1, flags=re.IGNORECASE).split(",")[0]
    street = " ".join(re.sub(_POSTCODE_AND_TOWN, "", street).split())
    return street[:1].upper() + street[1:]


def _slugify(text: str) -> str:
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "quartier"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        import re

        from piccolo.engine import engine_finder
        from piccolo.querystring import QueryString

        engine = engine_finder()
        rows = await engine.run_querystring(QueryString("SELECT id, slug, name, city FROM neighbourhood"))
        slugs = {r["slug"] for r in rows}
        for row in rows:
            # Only the quartiers the waiting list made (their slug is the town
            # and the first address): an imported "3 Cités" keeps its name.
            if not re.match(_HOUSE_NUMBER, row["name"], flags=re.IGNORECASE) or not row["slug"].startswith(
                _slugify(f"{row['city']}-{row['name']}")
            ):
                continue
            name = _street_of(row["name"]) or row["city"]
            base = slug = _slugify(f"{row['city']}-{name}")
            n = 2
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
            slugs.add(slug)
            await engine.run_querystring(
                QueryString("UPDATE neighbourhood SET name = {}, slug = {} WHERE id = {}", name, slug, row["id"])
            )

    manager.add_raw(run)
    return manager
