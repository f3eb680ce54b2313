"""Engine selection: PostgreSQL when DATABASE_URL says so, else the embedded SQLite."""

from piccolo.conf.apps import AppRegistry

from app.settings import get_settings

_settings = get_settings()

if _settings.is_postgres:
    from app.db.postgres import VoisinagePostgresEngine

    DB = VoisinagePostgresEngine(_settings)
else:
    from app import search
    from app.db import VoisinageSQLiteEngine

    _settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # The search index triggers call voisinage_stems (migrations/voisinage_0009_french_search_and_areas.py).
    DB = VoisinageSQLiteEngine(
        path=str(_settings.sqlite_path),
        readers=_settings.sqlite_readers,
        functions={"voisinage_stems": search.index_text},
    )

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
