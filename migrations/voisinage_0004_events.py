from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T19:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: neighbourhood calendar index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl(
            "ALTER TABLE event ADD COLUMN neighbourhood INTEGER REFERENCES neighbourhood (id) ON DELETE CASCADE"
        )
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS event_calendar_idx ON event (neighbourhood, starts_at, id)")
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS event_reminder_idx ON event (reminded_at, starts_at)")

    manager.add_raw(run)
    return manager
