from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "nearby quartiers: one pair once, the posts shown to nearby quartiers by index; one seat per person in a ride"
)


async def forwards():
    # Apart from 0021: Piccolo runs raw steps before it creates the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS neighbourhood_nearby_pair_idx "
            "ON neighbourhood_nearby (neighbourhood, nearby)",
            # The widened feed reads, per nearby quartier, its newest posts shown
            # to nearby quartiers: (neighbourhood, id) among those alone.
            "CREATE INDEX IF NOT EXISTS post_nearby_idx ON post (neighbourhood, id) WHERE nearby",
            # app.rides.queries checks it while holding the ride's row; this
            # holds it for any writer (0022 could not: raw steps run before its tables).
            'CREATE UNIQUE INDEX IF NOT EXISTS ride_seat_once_idx ON ride_seat (ride, "user")',
        ):
            await engine.run_ddl(statement)

    manager.add_raw(run)

    return manager
