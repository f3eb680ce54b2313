from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "accounts: failed-login counters shared by every process, pending signups with a registered address"

TABLES = {
    "sqlite": [
        "CREATE TABLE IF NOT EXISTS login_throttle (id INTEGER PRIMARY KEY, key_hash VARCHAR(64) NOT NULL UNIQUE, "
        "failures INTEGER NOT NULL DEFAULT 0, last_failure_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE IF NOT EXISTS pending_signup (id INTEGER PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE, "
        "expires_at TIMESTAMPTZ NOT NULL)",
    ],
    "postgres": [
        "CREATE TABLE IF NOT EXISTS login_throttle (id SERIAL PRIMARY KEY, key_hash VARCHAR(64) NOT NULL UNIQUE, "
        "failures INTEGER NOT NULL DEFAULT 0, last_failure_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        "CREATE TABLE IF NOT EXISTS pending_signup (id SERIAL PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE, "
        "expires_at TIMESTAMP WITH TIME ZONE NOT NULL)",
    ],
}
# Stale rows are deleted by age: an index range, not a scan.
INDEXES = [
    "CREATE INDEX IF NOT EXISTS login_throttle_age_idx ON login_throttle (last_failure_at)",
    "CREATE INDEX IF NOT EXISTS pending_signup_expiry_idx ON pending_signup (expires_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in TABLES["sqlite" if engine.engine_type == "sqlite" else "postgres"] + INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
