"""Settings: one frozen dataclass, read from the environment, and the keys
that app.db.keys keeps in the database where the environment gives none.

Nothing here is required: the defaults serve Voisinage on SQLite under ./data.
"""

from __future__ import annotations

import ipaddress
import os
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


def _number(name: str, default: float, *, minimum: float = 0, kind: type = int):
    raw = os.environ.get(name, "").strip()
    try:
        value = kind(raw) if raw else default
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise SystemExit(
            f"{name} : un nombre d'au moins {minimum} est attendu, pas {raw!r}.\n"
            f"{name} must be a number of at least {minimum}."
        )
    return value


def _list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


DEFAULT_METRICS_ALLOW = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


def _networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if not _list(name):
        return DEFAULT_METRICS_ALLOW
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in _list(name))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc} (comma-separated addresses or networks, e.g. 10.0.0.0/8,::1)") from None


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
    # Envelope sender of notification mails, as bounce+<signed token>@domain
    # (VERP): a bounce that comes back later names the account it is about.
    bounce_address: str
    # Signs CSRF tokens, address candidates, device cookies and letter codes.
    # From the environment, else None until app.db.keys.load() has read (or
    # made) the one kept in the database, which every process then shares.
    secret_key: str | None
    allowed_hosts: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    sqlite_readers: int = 4
    # PostgreSQL: connections each process keeps open (min) and may open (max);
    # seconds to connect; how long one statement of the server may run before
    # PostgreSQL cancels it (0: no limit). The CLI's maintenance commands
    # (migrate, imports) run without that limit.
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_timeout: float = 10.0
    db_statement_timeout_ms: int = 10_000
    # PostgreSQL: where each serving process LISTENs (app.live), when
    # DATABASE_URL goes through a pooler in transaction mode, which LISTEN
    # cannot cross; else DATABASE_URL.
    listen_database_url: str | None = None
    debug: bool = False
    # Off when a separate `voisinage worker` process sends pushes and reminders.
    background_work: bool = True
    vapid_private_key: str | None = None  # else the database's, like the secret key
    vapid_subject: str = "mailto:contact@voisinage.localhost"
    # Tests run a push receiver on 127.0.0.1; production refuses such endpoints (SSRF).
    push_allow_loopback: bool = False
    # Where pg_dump and pg_restore are, when not Debian's of the server's
    # version under /usr/lib/postgresql nor on PATH (app.db.backup.pg_tool).
    pg_bindir: Path | None = None
    # One JSON line per request on stderr (app.logs); off when a proxy's log is enough.
    access_log: bool = True
    # Who may read /metrics: the peer address of the connection itself (app.metrics).
    metrics_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = DEFAULT_METRICS_ALLOW
    # Seconds between the comments that keep an open live page's stream
    # through proxies, each also checking that its session still holds.
    live_heartbeat: float = 20.0
    # Live streams one process holds at most (app.live); beyond, pages work by reloading.
    live_max_streams: int = 2000
    # DKIM signing of every mail when a private key (PEM) is given: the DNS
    # holds its public half at <selector>._domainkey.<domain>.
    dkim_selector: str = "voisinage"
    dkim_domain: str = ""
    dkim_key_path: Path | None = None
    templates_dir: Path = field(default=ROOT / "templates")
    static_dir: Path = field(default=ROOT / "static")

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url) and self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def uploads_dir(self) -> Path:
        """Where uploads are spooled while they arrive; photos themselves live in the database."""
        return self.data_dir / "uploads"

    @property
    def sqlite_path(self) -> Path:
        # DATABASE_URL=sqlite:////srv/voisinage.sqlite3 keeps the database apart
        # from the data dir, which then holds nothing but caches.
        if self.database_url and self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///")).resolve()
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


# The keys read from the database, once per process (app.db.keys.load()):
# settings read again later (tests change the environment) keep them.
_database_keys: dict[str, str] = {}


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
    pool_min = _number("VOISINAGE_DB_POOL_MIN", 2)
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        base_url=base_url,
        geocoder=os.environ.get("VOISINAGE_GEOCODER", "database"),
        ban_url=os.environ.get("VOISINAGE_BAN_URL", "https://api-adresse.data.gouv.fr/search/"),
        smtp_url=os.environ.get("VOISINAGE_SMTP_URL") or None,
        mail_from=mail_from,
        moderation_email=os.environ.get("VOISINAGE_MODERATION_EMAIL") or f"moderation@{mail_domain}",
        bounce_address=os.environ.get("VOISINAGE_BOUNCE_ADDRESS") or f"bounce@{mail_domain}",
        secret_key=os.environ.get("VOISINAGE_SECRET_KEY") or _database_keys.get("secret_key"),
        allowed_hosts=tuple(sorted(allowed)),
        trusted_proxies=_list("VOISINAGE_TRUSTED_PROXIES"),
        sqlite_readers=_number("VOISINAGE_SQLITE_READERS", 4, minimum=1),
        db_pool_min=pool_min,
        db_pool_max=_number("VOISINAGE_DB_POOL_MAX", max(10, pool_min), minimum=max(1, pool_min)),
        db_timeout=_number("VOISINAGE_DB_TIMEOUT", 10.0, minimum=0.1, kind=float),
        db_statement_timeout_ms=_number("VOISINAGE_DB_STATEMENT_TIMEOUT_MS", 10_000),
        listen_database_url=os.environ.get("VOISINAGE_LISTEN_DATABASE_URL") or None,
        debug=_flag("VOISINAGE_DEBUG"),
        background_work=_flag("VOISINAGE_BACKGROUND_WORK", True),
        vapid_private_key=os.environ.get("VOISINAGE_VAPID_PRIVATE_KEY") or _database_keys.get("vapid_private_key"),
        vapid_subject=os.environ.get("VOISINAGE_VAPID_SUBJECT", "mailto:contact@voisinage.localhost"),
        push_allow_loopback=_flag("VOISINAGE_PUSH_ALLOW_LOOPBACK"),
        pg_bindir=Path(os.environ["VOISINAGE_PG_BINDIR"]) if os.environ.get("VOISINAGE_PG_BINDIR") else None,
        access_log=_flag("VOISINAGE_ACCESS_LOG", True),
        metrics_allow=_networks("VOISINAGE_METRICS_ALLOW"),
        live_heartbeat=_number("VOISINAGE_LIVE_HEARTBEAT", 20.0, minimum=1, kind=float),
        live_max_streams=_number("VOISINAGE_LIVE_MAX_STREAMS", 2000, minimum=1),
        dkim_selector=os.environ.get("VOISINAGE_DKIM_SELECTOR", "voisinage"),
        dkim_domain=os.environ.get("VOISINAGE_DKIM_DOMAIN") or mail_domain,
        dkim_key_path=Path(os.environ["VOISINAGE_DKIM_KEY_PATH"])
        if os.environ.get("VOISINAGE_DKIM_KEY_PATH")
        else None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def use_database_keys(keys: dict[str, str]) -> Settings:
    """The settings from now on, with these keys where the environment gives none."""
    _database_keys.update(keys)
    get_settings.cache_clear()
    return get_settings()
