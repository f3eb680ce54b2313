from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T20:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the notifications' French text is gone: 0013 moved it into their parameters"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voisinage", description=DESCRIPTION)

    manager.drop_column(
        table_class_name="Notification",
        tablename="notification",
        column_name="text",
        db_column_name="text",
        schema=None,
    )

    return manager
