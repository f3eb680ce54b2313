from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T15:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sessions remembered by each process: PostgreSQL tells every process whose session row changed"

# Every row a signed-in request's session lookup reads (app.accounts.sessions:
# the session, the account, its unread notifications, its blocks, either way)
# names the account it changes, on the sessions channel of app.db.memory.
# NOTIFY is sent at commit, to every process listening, and not at all on a
# rollback; PostgreSQL folds the same account's notices within a transaction
# into one. SQLite needs nothing: its processes see any commit in
# PRAGMA data_version.
_FUNCTION = """
CREATE OR REPLACE FUNCTION voisinage_session_changed() RETURNS trigger AS $$
DECLARE
    changed record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME = 'account' THEN
        PERFORM pg_notify('voisinage_sessions', changed.id::text);
    ELSIF TG_TABLE_NAME = 'block' THEN
        PERFORM pg_notify('voisinage_sessions', changed.blocker::text);
        PERFORM pg_notify('voisinage_sessions', changed.blocked::text);
    ELSE
        PERFORM pg_notify('voisinage_sessions', changed."user"::text);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

# A new session needs no notice: nobody can remember a token before it exists.
_TRIGGERS = {
    "user_session": "UPDATE OR DELETE",
    "account": "UPDATE OR DELETE",
    "notification": "INSERT OR UPDATE OR DELETE",
    "block": "INSERT OR UPDATE OR DELETE",
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
            await engine.run_ddl(f"DROP TRIGGER IF EXISTS {table}_session_changed ON {table}")
            await engine.run_ddl(
                f"CREATE TRIGGER {table}_session_changed AFTER {events} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION voisinage_session_changed()"
            )

    manager.add_raw(run)

    return manager
