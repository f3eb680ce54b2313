from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T10:50:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "urgent alerts: one count per quartier and day, the banner's and the moderation queue's reads"


async def forwards():
    # Apart from 0026_alerts: Piccolo runs raw steps before it creates the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in (
            # The upsert of app.alerts.queries._count_one conflicts on this pair.
            "CREATE UNIQUE INDEX IF NOT EXISTS alert_day_once_idx ON alert_day (neighbourhood, day)",
            "CREATE INDEX IF NOT EXISTS alert_shown_idx ON alert (neighbourhood, status, expires_at)",
            "CREATE INDEX IF NOT EXISTS alert_queue_idx ON alert (status, neighbourhood, id)",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(run)

    return manager
