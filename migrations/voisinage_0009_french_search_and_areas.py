from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "French stems in the SQLite search index, title-weighted search on PostgreSQL, spatial index of neighbourhoods, official area codes"

# The FTS5 index now holds Snowball stems of accent-free words, computed by
# the SQL function voisinage_stems that the engine registers on every
# connection (app/piccolo_conf.py, app/search.py). A connection without it (the sqlite3
# shell) can read posts but not change a title or a body: the trigger fails.
SQLITE_SEARCH = [
    "DROP TRIGGER IF EXISTS post_fts_insert",
    "DROP TRIGGER IF EXISTS post_fts_update",
    "CREATE TRIGGER post_fts_insert AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts (rowid, scope, title, body) "
    "VALUES (new.id, 'h' || new.neighbourhood, voisinage_stems(new.title), voisinage_stems(new.body)); END",
    "CREATE TRIGGER post_fts_update AFTER UPDATE OF title, body ON post BEGIN "
    "DELETE FROM post_fts WHERE rowid = old.id; "
    "INSERT INTO post_fts (rowid, scope, title, body) "
    "VALUES (new.id, 'h' || new.neighbourhood, voisinage_stems(new.title), voisinage_stems(new.body)); END",
    # Existing posts are indexed again, stemmed.
    "DELETE FROM post_fts",
    "INSERT INTO post_fts (rowid, scope, title, body) "
    "SELECT id, 'h' || neighbourhood, voisinage_stems(title), voisinage_stems(body) FROM post",
    "INSERT INTO post_fts (post_fts) VALUES ('optimize')",
]

# An R*Tree of the bounding boxes: with 50,000 IRIS areas loaded, finding the
# few boxes around a point must not read half the table as a min_lat index does.
SQLITE_AREAS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS neighbourhood_rtree USING rtree(id, min_lon, max_lon, min_lat, max_lat)",
    "INSERT OR REPLACE INTO neighbourhood_rtree (id, min_lon, max_lon, min_lat, max_lat) "
    "SELECT id, min_lon, max_lon, min_lat, max_lat FROM neighbourhood",
    "CREATE TRIGGER IF NOT EXISTS neighbourhood_rtree_insert AFTER INSERT ON neighbourhood BEGIN "
    "INSERT INTO neighbourhood_rtree (id, min_lon, max_lon, min_lat, max_lat) "
    "VALUES (new.id, new.min_lon, new.max_lon, new.min_lat, new.max_lat); END",
    "CREATE TRIGGER IF NOT EXISTS neighbourhood_rtree_update AFTER UPDATE OF min_lon, max_lon, min_lat, max_lat "
    "ON neighbourhood BEGIN UPDATE neighbourhood_rtree SET min_lon = new.min_lon, max_lon = new.max_lon, "
    "min_lat = new.min_lat, max_lat = new.max_lat WHERE id = new.id; END",
    "CREATE TRIGGER IF NOT EXISTS neighbourhood_rtree_delete AFTER DELETE ON neighbourhood BEGIN "
    "DELETE FROM neighbourhood_rtree WHERE id = old.id; END",
]

POSTGRES = [
    # Titles weigh A, bodies B: a query can ask for title matches only (`:*A`), which ranks them first.
    "CREATE INDEX IF NOT EXISTS post_search_weighted_idx ON post USING gin ("
    "(setweight(to_tsvector('french', voisinage_search_text(title)), 'A') || "
    "setweight(to_tsvector('french', voisinage_search_text(body)), 'B')))",
    "DROP INDEX IF EXISTS post_search_idx",
    # PostgreSQL's R-tree: a GiST index over each neighbourhood's bounding box.
    "CREATE INDEX IF NOT EXISTS neighbourhood_box_idx ON neighbourhood USING gist "
    "(box(point(min_lon, min_lat), point(max_lon, max_lat)))",
]

# The official code of the area a boundary comes from (an IRIS code, an INSEE
# code), empty for drawn quartiers and for the 800 m circles of waiting lists.
AREA_CODE = "ALTER TABLE neighbourhood ADD COLUMN area_code VARCHAR(20) NOT NULL DEFAULT ''"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl(AREA_CODE)
        statements = SQLITE_SEARCH + SQLITE_AREAS if engine.engine_type == "sqlite" else POSTGRES
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
