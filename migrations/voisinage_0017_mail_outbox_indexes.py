from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail outbox indexes: due mails, a thread's waiting mail, one digest per quartier and period"


async def forwards():
    # Apart from 0016: Piccolo runs raw steps before it creates the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in (
            "CREATE INDEX IF NOT EXISTS mail_outbox_idx ON mail_delivery (status, next_attempt_at)",
            'CREATE INDEX IF NOT EXISTS mail_thread_idx ON mail_delivery ("user", thread, created_at)',
            "CREATE UNIQUE INDEX IF NOT EXISTS digest_once_idx ON digest_run (neighbourhood, period)",
            # At most one mail waiting per person and page: two replies arriving
            # together add their lines to the same one (app.notify.mail_outbox._add).
            'CREATE UNIQUE INDEX IF NOT EXISTS mail_waiting_idx ON mail_delivery ("user", thread) '
            "WHERE status = 'pending' AND attempts = 0 AND thread <> ''",
        ):
            await engine.run_ddl(statement)

    manager.add_raw(run)

    return manager
