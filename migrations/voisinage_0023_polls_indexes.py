from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T10:20:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "poll votes: one row per (poll, person, option)"


async def forwards():
    # Apart from 0023: Piccolo runs raw steps before it creates the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        # The backstop of "one vote per person": two requests of one person
        # cannot both add the same choice, whatever the application does.
        # Its first two columns are also how a person's choices are read.
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            'CREATE UNIQUE INDEX IF NOT EXISTS poll_vote_once_idx ON poll_vote (poll, "user", option)'
        )

    manager.add_raw(run)
    return manager
