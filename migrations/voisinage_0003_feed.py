from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T19:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feed: id keyset indexes, full-text search, skills directory"

SQLITE = [
    # Keyset pages go by id (creation order): one index range per page.
    "CREATE INDEX IF NOT EXISTS post_hood_id_idx ON post (neighbourhood, id)",
    "CREATE INDEX IF NOT EXISTS post_hood_kind_id_idx ON post (neighbourhood, kind, id)",
    "CREATE INDEX IF NOT EXISTS reply_post_id_idx ON reply (post, id)",
    "CREATE INDEX IF NOT EXISTS message_conv_id_idx ON message (conversation, id)",
    # The neighbourhood is a token of its own ("h42"), so a search intersects
    # the neighbourhood's posting list with the words' instead of filtering
    # every match in France afterwards.
    "CREATE VIRTUAL TABLE IF NOT EXISTS post_fts USING fts5(scope, title, body, tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS post_fts_insert AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts (rowid, scope, title, body) VALUES (new.id, 'h' || new.neighbourhood, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_update AFTER UPDATE OF title, body ON post BEGIN "
    "DELETE FROM post_fts WHERE rowid = old.id; "
    "INSERT INTO post_fts (rowid, scope, title, body) VALUES (new.id, 'h' || new.neighbourhood, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_delete AFTER DELETE ON post BEGIN DELETE FROM post_fts WHERE rowid = old.id; END",
    'CREATE TABLE IF NOT EXISTS user_skill (id INTEGER PRIMARY KEY, "user" INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE, '
    "neighbourhood INTEGER NOT NULL REFERENCES neighbourhood (id) ON DELETE CASCADE, skill VARCHAR(30) NOT NULL)",
    'CREATE UNIQUE INDEX IF NOT EXISTS user_skill_once_idx ON user_skill ("user", skill)',
    'CREATE INDEX IF NOT EXISTS user_skill_directory_idx ON user_skill (neighbourhood, skill, "user")',
]

POSTGRES = [
    "CREATE INDEX IF NOT EXISTS post_hood_id_idx ON post (neighbourhood, id)",
    "CREATE INDEX IF NOT EXISTS post_hood_kind_id_idx ON post (neighbourhood, kind, id)",
    "CREATE INDEX IF NOT EXISTS reply_post_id_idx ON reply (post, id)",
    "CREATE INDEX IF NOT EXISTS message_conv_id_idx ON message (conversation, id)",
    'CREATE TABLE IF NOT EXISTS user_skill (id SERIAL PRIMARY KEY, "user" INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE, '
    "neighbourhood INTEGER NOT NULL REFERENCES neighbourhood (id) ON DELETE CASCADE, skill VARCHAR(30) NOT NULL)",
    'CREATE UNIQUE INDEX IF NOT EXISTS user_skill_once_idx ON user_skill ("user", skill)',
    'CREATE INDEX IF NOT EXISTS user_skill_directory_idx ON user_skill (neighbourhood, skill, "user")',
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
        for statement in POSTGRES:
            await engine.run_ddl(statement)
        # French stemming, accents ignored when the unaccent extension exists.
        # unaccent() is not IMMUTABLE, so an index needs this wrapper.
        available = await engine.run_ddl("SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'unaccent'")
        if available:
            await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS unaccent")
            body = "SELECT public.unaccent('public.unaccent'::regdictionary, $1)"
        else:
            body = "SELECT $1"
        await engine.run_ddl(
            "CREATE OR REPLACE FUNCTION voisinage_search_text(text) RETURNS text "
            f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ {body} $f$"
        )
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS post_search_idx ON post USING gin "
            "(to_tsvector('french', voisinage_search_text(title || ' ' || body)))"
        )

    manager.add_raw(run)
    return manager
