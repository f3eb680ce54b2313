from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-01T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications keep their parameters, so each reader sees them in their own language"


class _ThenKeepOldTexts(MigrationManager):
    """The old rows' sentences move into the new column, which Piccolo adds
    after any raw step: the move runs after it, in the same transaction.
    They show as written (app.notify.text.describe reads params["text"]);
    0014 then drops the text column."""

    async def run(self, backwards: bool = False):
        if backwards:
            return await super().run(backwards=True)
        engine = engine_finder()
        build = "json_build_object" if engine.engine_type == "postgres" else "json_object"
        async with engine.transaction():
            await super().run()
            await engine.run_querystring(QueryString(f"UPDATE notification SET params = {build}('text', text)"))


async def forwards():
    manager = _ThenKeepOldTexts(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Notification",
        tablename="notification",
        column_name="params",
        db_column_name="params",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "{}",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
