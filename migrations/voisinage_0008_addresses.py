from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "addresses: the Base Adresse Nationale imported per département, with a fuzzy index of its streets"

# address.way is no foreign key: checking one per row halved the import's speed, and the import is the only
# writer, removing a street's addresses before the street itself (app/addresses/importer.py).
COMMON = [
    # Lookups go street first, then house number: one index range per street.
    "CREATE INDEX IF NOT EXISTS address_way_number_idx ON address (way, number)",
    "CREATE INDEX IF NOT EXISTS address_way_department_idx ON address_way (department, import_run)",
]

SQLITE = [
    "CREATE TABLE IF NOT EXISTS address_import (id INTEGER PRIMARY KEY, file TEXT NOT NULL DEFAULT '', "
    "departments TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0, "
    "started_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, finished_at TIMESTAMPTZ DEFAULT NULL)",
    "CREATE TABLE IF NOT EXISTS address_way (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
    "department VARCHAR(3) NOT NULL, name TEXT NOT NULL, postcode VARCHAR(5) NOT NULL, insee VARCHAR(5) NOT NULL, "
    "city TEXT NOT NULL, search TEXT NOT NULL, import_run INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS address (id INTEGER PRIMARY KEY, ban_id TEXT UNIQUE NOT NULL, "
    "way INTEGER NOT NULL, number INTEGER NOT NULL, "
    "rep TEXT NOT NULL DEFAULT '', lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL, "
    "import_run INTEGER NOT NULL)",
    *COMMON,
    # Every word of the street and town names under itself and under each form with one letter less: a
    # misspelt word meets its neighbours through their shared forms (app/addresses/search.py).
    "CREATE TABLE IF NOT EXISTS address_word (form TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (form, word)) "
    "WITHOUT ROWID",
    # Trigrams of the street names only (a few per cent of the address rows):
    # typos are forgiven street by street, the house number is then an exact lookup.
    "CREATE VIRTUAL TABLE IF NOT EXISTS address_way_fts USING fts5(search, content='address_way', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS address_way_fts_insert AFTER INSERT ON address_way BEGIN "
    "INSERT INTO address_way_fts (rowid, search) VALUES (new.id, new.search); END",
    "CREATE TRIGGER IF NOT EXISTS address_way_fts_delete AFTER DELETE ON address_way BEGIN "
    "INSERT INTO address_way_fts (address_way_fts, rowid, search) VALUES ('delete', old.id, old.search); END",
    # A re-import rewrites every street it meets; the index moves only for a renamed one.
    "CREATE TRIGGER IF NOT EXISTS address_way_fts_update AFTER UPDATE OF search ON address_way "
    "WHEN old.search IS NOT new.search BEGIN "
    "INSERT INTO address_way_fts (address_way_fts, rowid, search) VALUES ('delete', old.id, old.search); "
    "INSERT INTO address_way_fts (rowid, search) VALUES (new.id, new.search); END",
]

POSTGRES = [
    "CREATE TABLE IF NOT EXISTS address_import (id SERIAL PRIMARY KEY, file TEXT NOT NULL DEFAULT '', "
    "departments TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0, "
    "started_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT current_timestamp, "
    "finished_at TIMESTAMP WITH TIME ZONE DEFAULT NULL)",
    "CREATE TABLE IF NOT EXISTS address_way (id SERIAL PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
    "department VARCHAR(3) NOT NULL, name TEXT NOT NULL, postcode VARCHAR(5) NOT NULL, insee VARCHAR(5) NOT NULL, "
    "city TEXT NOT NULL, search TEXT NOT NULL, import_run INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS address (id SERIAL PRIMARY KEY, ban_id TEXT UNIQUE NOT NULL, "
    "way INTEGER NOT NULL, number INTEGER NOT NULL, "
    "rep TEXT NOT NULL DEFAULT '', lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL, "
    "import_run INTEGER NOT NULL)",
    *COMMON,
    "CREATE TABLE IF NOT EXISTS address_word (form TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (form, word))",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for statement in SQLITE:
                await engine.run_ddl(statement)
            return
        if not await engine.run_ddl("SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'pg_trgm'"):
            raise RuntimeError("PostgreSQL needs the pg_trgm extension (Debian: the postgresql package includes it)")
        await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for statement in POSTGRES:
            await engine.run_ddl(statement)
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS address_way_search_idx ON address_way USING gin (search gin_trgm_ops)"
        )

    manager.add_raw(run)
    return manager
