"""Engine selection: PostgreSQL when DATABASE_URL says so, else the embedded SQLite."""

from piccolo.conf.apps import AppRegistry

from app.settings import get_settings

_settings = get_settings()

if _settings.is_postgres:
    from piccolo.engine.postgres import PostgresEngine

    DB = PostgresEngine(config={"dsn": _settings.database_url})
else:
    from app.db import VoisinageSQLiteEngine

    _settings.data_dir.mkdir(parents=True, exist_ok=True)
    DB = VoisinageSQLiteEngine(path=str(_settings.sqlite_path), readers=_settings.sqlite_readers)

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
