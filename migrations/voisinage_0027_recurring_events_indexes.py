from piccolo.apps.migrations.auto.migration_manager import MigrationManager

# After 0027, which makes the table: Piccolo runs a migration's raw steps before its tables.
ID = "2026-12-02T11:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "recurring events: indexes of the dates and one signup per person and date"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        # /events reads each quartier's dates soonest first; a series has each date once.
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS event_occurrence_calendar_idx ON event_occurrence (neighbourhood, starts_at, id)"
        )
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS event_occurrence_series_idx ON event_occurrence (event, starts_at)"
        )
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS event_occurrence_reminder_idx ON event_occurrence (reminded_at, starts_at)"
        )
        # One signup per person and date: per occurrence for a series, once
        # for an event on one date (its signups keep occurrence NULL).
        await engine.run_ddl("DROP INDEX IF EXISTS signup_once_idx")
        await engine.run_ddl(
            'CREATE UNIQUE INDEX IF NOT EXISTS signup_once_idx ON signup (event, COALESCE(occurrence, 0), "user")'
        )
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS signup_occurrence_queue_idx ON signup (occurrence, status, position)"
        )

    manager.add_raw(run)
    return manager
