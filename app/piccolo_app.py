from piccolo.conf.apps import AppConfig

from app.accounts.tables import AccountToken, Session, User
from app.neighbourhoods.tables import Neighbourhood
from app.posts.tables import Post
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="voisinage",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=[Neighbourhood, User, Session, AccountToken, Post],
    migration_dependencies=[],
    commands=[],
)
