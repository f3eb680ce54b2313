"""Settings: one frozen dataclass, read from the environment only.

Nothing here is required: the defaults serve Voisinage on SQLite under ./data.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    base_url: str
    geocoder: str
    ban_url: str
    smtp_url: str | None
    mail_from: str
    # Where a suspended member writes to contest: the suspension mail names it
    # and replies to that mail go there, not to the no-reply sender.
    moderation_email: str
    secret_key: str
    allowed_hosts: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    sqlite_readers: int = 4
    debug: bool = False
    # Off when a separate `voisinage worker` process sends pushes and reminders.
    background_work: bool = True
    vapid_private_key: str | None = None  # else generated into the data dir
    vapid_subject: str = "mailto:contact@voisinage.localhost"
    # Tests run a push receiver on 127.0.0.1; production refuses such endpoints (SSRF).
    push_allow_loopback: bool = False
    # Seconds between the comments that keep an open live page's stream
    # through proxies, each also checking that its session still holds.
    live_heartbeat: float = 20.0
    # Live streams one process holds at most (app.live); beyond, pages work by reloading.
    live_max_streams: int = 2000
    templates_dir: Path = field(default=ROOT / "templates")
    static_dir: Path = field(default=ROOT / "static")

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url) and self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "voisinage.sqlite3"

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def session_cookie(self) -> str:
        # The __Host- prefix pins the cookie to this origin, but browsers only
        # accept it over https.
        return "__Host-session" if self.https else "session"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"


def _secret(data_dir: Path) -> str:
    """The signing secret: from the environment, else generated once into the data dir."""
    if os.environ.get("VOISINAGE_SECRET_KEY"):
        return os.environ["VOISINAGE_SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def data_dir_from_env() -> Path:
    return Path(os.environ.get("VOISINAGE_DATA_DIR", "./data")).resolve()


def data_dir_problem(data_dir: Path) -> str | None:
    """Why nothing can be written in the data dir (read-only, no rights), or None."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def load_settings() -> Settings:
    data_dir = data_dir_from_env()
    base_url = os.environ.get("VOISINAGE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    host = urlsplit(base_url).hostname or "127.0.0.1"
    allowed = {host, "127.0.0.1", "localhost", *_list("VOISINAGE_ALLOWED_HOSTS")}
    mail_from = os.environ.get("VOISINAGE_MAIL_FROM", "Voisinage <ne-pas-repondre@voisinage.localhost>")
    mail_domain = parseaddr(mail_from)[1].rpartition("@")[2] or host
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        base_url=base_url,
        geocoder=os.environ.get("VOISINAGE_GEOCODER", "database"),
        ban_url=os.environ.get("VOISINAGE_BAN_URL", "https://api-adresse.data.gouv.fr/search/"),
        smtp_url=os.environ.get("VOISINAGE_SMTP_URL") or None,
        mail_from=mail_from,
        moderation_email=os.environ.get("VOISINAGE_MODERATION_EMAIL") or f"moderation@{mail_domain}",
        secret_key=_secret(data_dir),
        allowed_hosts=tuple(sorted(allowed)),
        trusted_proxies=_list("VOISINAGE_TRUSTED_PROXIES"),
        sqlite_readers=int(os.environ.get("VOISINAGE_SQLITE_READERS", "4")),
        debug=_flag("VOISINAGE_DEBUG"),
        background_work=_flag("VOISINAGE_BACKGROUND_WORK", True),
        vapid_private_key=os.environ.get("VOISINAGE_VAPID_PRIVATE_KEY") or None,
        vapid_subject=os.environ.get("VOISINAGE_VAPID_SUBJECT", "mailto:contact@voisinage.localhost"),
        push_allow_loopback=_flag("VOISINAGE_PUSH_ALLOW_LOOPBACK"),
        live_heartbeat=float(os.environ.get("VOISINAGE_LIVE_HEARTBEAT", "20")),
        live_max_streams=int(os.environ.get("VOISINAGE_LIVE_MAX_STREAMS", "2000")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
