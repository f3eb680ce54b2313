from piccolo.apps.migrations.auto.migration_manager import MigrationManager

# Right after 0024 (the same number: one step of the same change).
ID = "2026-12-02T10:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "thanks and saved posts: one thanks per post and person, the helper's count, the saved list"


async def forwards():
    # Apart from 0024: Piccolo runs raw steps before it creates the tables of the same migration.
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in (
            "CREATE UNIQUE INDEX IF NOT EXISTS thanks_once_idx ON thanks (post, helper)",
            # « a aidé N voisins »: the distinct givers of one helper, read in the index.
            "CREATE INDEX IF NOT EXISTS thanks_helper_idx ON thanks (helper, giver)",
            'CREATE UNIQUE INDEX IF NOT EXISTS saved_post_once_idx ON saved_post ("user", post)',
            # /saved: newest saved first, a keyset page on the id.
            'CREATE INDEX IF NOT EXISTS saved_post_list_idx ON saved_post ("user", id)',
        ):
            await engine.run_ddl(statement)

    manager.add_raw(run)

    return manager
