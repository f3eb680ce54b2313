from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feed pages remembered by each process: PostgreSQL tells every process which quartier's feed changed"

# Every row the first page of a feed is read from (app.posts.opening: the
# posts, their event, ride and poll, their thanks and who is thanked, the
# reader's saved posts, the authors' names) names the quartier it changes,
# on the feeds channel of app.db.memory; an empty notice (a post already
# gone, a name changed) means every quartier. NOTIFY is sent at commit, and
# not at all on a rollback. SQLite needs nothing: its processes see any
# commit in PRAGMA data_version.
_FUNCTION = """
CREATE OR REPLACE FUNCTION voisinage_feed_changed() RETURNS trigger AS $$
DECLARE
    changed record;
    quartier bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME = 'account' THEN
        PERFORM pg_notify('voisinage_feeds', '');
    ELSIF TG_TABLE_NAME = 'post' THEN
        PERFORM pg_notify('voisinage_feeds', COALESCE(changed.neighbourhood::text, ''));
        IF TG_OP = 'UPDATE' AND OLD.neighbourhood IS DISTINCT FROM NEW.neighbourhood THEN
            PERFORM pg_notify('voisinage_feeds', COALESCE(OLD.neighbourhood::text, ''));
        END IF;
    ELSE
        SELECT p.neighbourhood INTO quartier FROM post p WHERE p.id = changed.post;
        PERFORM pg_notify('voisinage_feeds', COALESCE(quartier::text, ''));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_TRIGGERS = {
    "post": "INSERT OR UPDATE OR DELETE",
    "event": "INSERT OR UPDATE OR DELETE",
    "ride": "INSERT OR UPDATE OR DELETE",
    "poll": "INSERT OR UPDATE OR DELETE",
    "thanks": "INSERT OR UPDATE OR DELETE",
    "saved_post": "INSERT OR UPDATE OR DELETE",
    # Only the names a card shows (its author's, the thanked neighbours').
    "account": "UPDATE OF first_name, last_name OR DELETE",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        if engine.engine_type != "postgres":
            return
        await engine.run_ddl(_FUNCTION)
        for table, events in _TRIGGERS.items():
            await engine.run_ddl(f"DROP TRIGGER IF EXISTS {table}_feed_changed ON {table}")
            await engine.run_ddl(
                f"CREATE TRIGGER {table}_feed_changed AFTER {events} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION voisinage_feed_changed()"
            )

    manager.add_raw(run)

    return manager
