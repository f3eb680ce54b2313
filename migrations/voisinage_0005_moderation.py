from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T14:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "moderation: keyset indexes for the queue, the audit log and the letters"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        # Pages read "WHERE neighbourhood = ? … ORDER BY id LIMIT n": the id must follow the filter columns.
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS report_open_idx ON report (neighbourhood, status, id)")
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS modlog_id_idx ON moderation_action (neighbourhood, id)")
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS account_pending_idx ON account (neighbourhood, verification, id)"
        )
        await engine.run_ddl(
            'CREATE INDEX IF NOT EXISTS verification_code_user_idx ON verification_code ("user", used_at)'
        )

    manager.add_raw(run)
    return manager
