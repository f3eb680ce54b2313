"""The schema `voisinage migrate` builds is the one the Piccolo tables declare.

A query written against a table class must find, in the real database, the
columns, types, nullability and indexes the class promises, on SQLite and on
PostgreSQL alike. The session has already migrated the test database from
zero (tests/conftest.py); these tests read what it built.

How a schema change is made (see migrations/__init__.py): change the table
class, run `piccolo migrations new voisinage --auto`, edit the generated file
only where Piccolo cannot say it (composite indexes, triggers, data moves: an
`add_raw` step). This test fails when the migrations and the classes part.
"""

from __future__ import annotations

import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import Column
from piccolo.querystring import QueryString

from app.piccolo_app import APP_CONFIG
from app.settings import get_settings

POSTGRES = get_settings().is_postgres

# Indexes created by raw DDL in migrations (Piccolo declares single-column
# indexes only): every keyset page and lookup of the app is read through one.
RAW_INDEXES = {
    "post_feed_idx",
    "post_kind_feed_idx",
    "post_pinned_idx",
    "post_author_idx",
    "neighbourhood_bbox_idx",
    "reply_thread_idx",
    "message_thread_idx",
    "conversation_pair_idx",
    "conversation_a_idx",
    "conversation_b_idx",
    "signup_once_idx",
    "signup_queue_idx",
    "notification_inbox_idx",
    "notification_unread_idx",
    "push_outbox_idx",
    "moderator_once_idx",
    "report_queue_idx",
    "report_target_idx",
    "modlog_idx",
    "block_once_idx",
    "block_blocked_idx",
    "vouch_once_idx",
    "loan_due_idx",
    "post_hood_id_idx",
    "post_hood_kind_id_idx",
    "reply_post_id_idx",
    "message_conv_id_idx",
    "user_skill_once_idx",
    "user_skill_directory_idx",
    "event_calendar_idx",
    "event_reminder_idx",
    "event_occurrence_calendar_idx",
    "event_occurrence_series_idx",
    "event_occurrence_reminder_idx",
    "signup_occurrence_queue_idx",
    "report_open_idx",
    "modlog_id_idx",
    "account_pending_idx",
    "verification_code_user_idx",
    "login_throttle_age_idx",
    "pending_signup_expiry_idx",
    "address_way_number_idx",
    "address_way_department_idx",
    "mail_outbox_idx",
    "mail_thread_idx",
    "mail_waiting_idx",
    "digest_once_idx",
    "neighbourhood_nearby_pair_idx",
    "post_nearby_idx",
    "ride_seat_once_idx",
    "poll_vote_once_idx",
    "recommendation_once_idx",
    "alert_day_once_idx",
    "alert_shown_idx",
    "alert_queue_idx",
    "thanks_once_idx",
    "thanks_helper_idx",
    "saved_post_once_idx",
    "saved_post_list_idx",
    "account_newcomers_idx",
    "group_member_once_idx",
    "group_member_role_idx",
    "interest_group_hood_id_idx",
    "post_group_id_idx",
}
RAW_INDEXES_BY_ENGINE = {
    # French full-text search and the spatial lookup: FTS5 and R*Tree virtual
    # tables on SQLite, expression indexes on PostgreSQL.
    "sqlite": set(),
    "postgres": {"post_search_weighted_idx", "neighbourhood_box_idx", "address_way_search_idx"},
}
# The address search's word forms (a two-column primary key, which Piccolo
# cannot declare) on both engines; FTS5 and R*Tree tables on SQLite.
RAW_TABLES = {"address_word"}
RAW_TABLES_BY_ENGINE = {
    "sqlite": RAW_TABLES | {"post_fts", "neighbourhood_rtree", "address_way_fts"},
    "postgres": RAW_TABLES,
}

# Piccolo's column types as information_schema names them.
_PG_TYPES = {
    "SERIAL": "integer",
    "INTEGER": "integer",
    "VARCHAR": "character varying",
    "TEXT": "text",
    "JSON": "json",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DOUBLE PRECISION": "double precision",
    "TIMESTAMPTZ": "timestamp with time zone",
    "BYTEA": "bytea",
}

TABLES = APP_CONFIG.table_classes


async def _query(db, sql: str, *args) -> list[dict]:
    return await db.run_querystring(QueryString(sql, *args))


def _declared_type(column: Column) -> str:
    """What the engine reports for the column Piccolo would create."""
    declared = column.column_type
    if not POSTGRES:
        return declared
    name, _, length = declared.partition("(")
    return _PG_TYPES[name] + (f"({length}" if length else "")


async def _columns(db, table: str) -> dict[str, tuple[str, bool]]:
    """name -> (type, nullable), as the database has it."""
    if POSTGRES:
        rows = await _query(
            db,
            "SELECT column_name AS name, data_type, character_maximum_length AS length, is_nullable "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = {}",
            table,
        )
        return {
            r["name"]: (r["data_type"] + (f"({r['length']})" if r["length"] else ""), r["is_nullable"] == "YES")
            for r in rows
        }
    rows = await _query(db, 'SELECT name, type, "notnull", pk FROM pragma_table_info({})', table)
    # SQLite lets an INTEGER PRIMARY KEY hold no NULL whatever its declaration says.
    return {r["name"]: (r["type"].upper(), not (r["notnull"] or r["pk"])) for r in rows}


async def _indexes(db, table: str) -> dict[str, tuple[tuple[str | None, ...], bool, bool]]:
    """name -> (columns, unique, primary key), as the database has it."""
    if POSTGRES:
        rows = await _query(
            db,
            "SELECT i.relname AS name, x.indisunique AS is_unique, x.indisprimary AS is_primary, "
            "array_agg(a.attname ORDER BY k.ord) AS columns "
            "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE n.nspname = 'public' AND t.relname = {} GROUP BY i.relname, x.indisunique, x.indisprimary",
            table,
        )
        return {r["name"]: (tuple(r["columns"]), r["is_unique"], r["is_primary"]) for r in rows}
    found = {}
    for index in await _query(db, 'SELECT name, "unique", origin FROM pragma_index_list({})', table):
        columns = await _query(db, "SELECT name FROM pragma_index_info({}) ORDER BY seqno", index["name"])
        found[index["name"]] = (tuple(c["name"] for c in columns), bool(index["unique"]), index["origin"] == "pk")
    return found


# PostgreSQL's codes for ON DELETE and ON UPDATE in pg_constraint.
_PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def _foreign_keys(db, table: str) -> dict[str, tuple[str, str, str]]:
    """column -> (referenced table, ON DELETE, ON UPDATE), as the database has it."""
    if POSTGRES:
        rows = await _query(
            db,
            "SELECT a.attname AS name, r.relname AS target, c.confdeltype::text AS on_delete, "
            "c.confupdtype::text AS on_update FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND n.nspname = 'public' AND t.relname = {}",
            table,
        )
        return {r["name"]: (r["target"], _PG_ACTIONS[r["on_delete"]], _PG_ACTIONS[r["on_update"]]) for r in rows}
    rows = await _query(db, 'SELECT "from", "table", on_delete, on_update FROM pragma_foreign_key_list({})', table)
    return {r["from"]: (r["table"], r["on_delete"], r["on_update"]) for r in rows}


async def _all_index_names(db) -> set[str]:
    if POSTGRES:
        rows = await _query(db, "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")
    else:
        rows = await _query(db, "SELECT name FROM sqlite_master WHERE type = 'index'")
    return {r["name"] for r in rows}


async def _all_table_names(db) -> set[str]:
    if POSTGRES:
        rows = await _query(
            db, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    else:
        rows = await _query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r["name"] for r in rows}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t._meta.tablename)
async def test_every_column_has_the_declared_type_and_nullability(database, table):
    real = await _columns(database, table._meta.tablename)
    declared = {c._meta.db_column_name: (_declared_type(c), c._meta.null) for c in table._meta.columns}
    assert real == declared


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t._meta.tablename)
async def test_every_declared_single_column_index_exists_and_no_other(database, table):
    """`index=True` and `unique=True` are what the database indexes by a
    single column (RAW_INDEXES, made by hand, are checked by name)."""
    raw = RAW_INDEXES | RAW_INDEXES_BY_ENGINE[database.engine_type]
    real_indexed, real_unique = set(), set()
    for name, (columns, unique, primary) in (await _indexes(database, table._meta.tablename)).items():
        if primary or name in raw or len(columns) != 1:
            continue
        (real_unique if unique else real_indexed).add(columns[0])
    columns = [c for c in table._meta.columns if not c._meta.primary_key]
    declared_unique = {c._meta.db_column_name for c in columns if c._meta.unique}
    declared_indexed = {c._meta.db_column_name for c in columns if c._meta.index}
    assert (real_unique, real_indexed) == (declared_unique, declared_indexed)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t._meta.tablename)
async def test_every_foreign_key_points_where_declared_and_acts_as_declared(database, table):
    declared = {}
    for column in table._meta.foreign_key_columns:
        meta = column._foreign_key_meta
        declared[column._meta.db_column_name] = (
            meta.resolved_references._meta.tablename,
            meta.on_delete.value,
            meta.on_update.value,
        )
    assert await _foreign_keys(database, table._meta.tablename) == declared


async def test_the_indexes_and_search_tables_made_by_raw_ddl_exist(database):
    engine = database.engine_type
    assert RAW_INDEXES | RAW_INDEXES_BY_ENGINE[engine] <= await _all_index_names(database)
    assert RAW_TABLES_BY_ENGINE[engine] <= await _all_table_names(database)


async def test_every_table_in_the_database_is_declared(database):
    real = await _all_table_names(database)
    # Piccolo's own record of the migrations run, and the shadow tables SQLite keeps for FTS5 and R*Tree.
    internal = {"migration"} | {
        n for n in real if n.startswith(("sqlite_", "post_fts_", "neighbourhood_rtree_", "address_way_fts_"))
    }
    assert real - internal - RAW_TABLES_BY_ENGINE[database.engine_type] == {t._meta.tablename for t in TABLES}


async def test_piccolo_reads_from_the_migrations_the_schema_the_tables_declare():
    """What `piccolo migrations new voisinage --auto` compares: when the two
    agree, the next generated migration holds only the next change."""
    groups = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config=APP_CONFIG)
    assert [statement for group in groups for statement in group.statements] == []
