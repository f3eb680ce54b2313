"""The configuration files of docs/deploy.md, as an operator copies them.

Each fenced block holding a file opens with a comment naming where it goes
(`# /etc/caddy/Caddyfile`); a block may hold several files, each opened by
its own such line. The guide's example addresses are named here so that the
tests can move the files onto loopback addresses.
"""

from __future__ import annotations

import re

from app.settings import ROOT

GUIDE = ROOT / "docs" / "deploy.md"

SITE = "voisinage.exemple.fr"
CADDY_HOST = "10.0.0.10"
APP_HOSTS = ("10.0.0.11", "10.0.0.12")
APP_PORT = 8000
PROMETHEUS_HOST = "10.0.0.30"
# Where the guide installs the command; the tests put the one installed here instead.
COMMAND = "/srv/voisinage/.venv/bin/voisinage"

CADDYFILE = "/etc/caddy/Caddyfile"
ENVIRONMENT = "/etc/voisinage/voisinage.env"
POSTGRESQL_CONF = "/etc/postgresql/15/main/conf.d/voisinage.conf"
SERVE_UNIT = "/etc/systemd/system/voisinage.service"

_FENCE = re.compile(r"^```[\w-]*\n(.*?)^```$", re.M | re.S)
_FILE = re.compile(r"# (/\S+)")


def config_files() -> dict[str, str]:
    """Every file the guide gives, by the path it is written to."""
    files: dict[str, list[str]] = {}
    for block in _FENCE.findall(GUIDE.read_text(encoding="utf-8")):
        current = None
        for line in block.splitlines():
            if named := _FILE.fullmatch(line):
                current = files.setdefault(named.group(1), [])
            elif current is not None:
                current.append(line)
    return {path: "\n".join(lines).strip("\n") + "\n" for path, lines in files.items()}


def environment() -> dict[str, str]:
    """The environment file's variables, read as systemd's EnvironmentFile= does
    (one KEY=VALUE a line, `#` comments, a value possibly in double quotes)."""
    values = {}
    for line in config_files()[ENVIRONMENT].splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            value = value.strip()
            values[key.strip()] = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
    return values


def postgresql_settings() -> dict[str, str]:
    """name -> value of the PostgreSQL configuration file, as written (quotes kept)."""
    settings = {}
    for line in config_files()[POSTGRESQL_CONF].splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


def caddyfile_on_loopback(port: int, upstreams: list[str]) -> str:
    """The guide's Caddyfile, serving plain http on 127.0.0.1:`port` in front
    of `upstreams` instead of the guide's hosts; everything else as written."""
    text = config_files()[CADDYFILE]
    moves = {
        # One Caddy among others on this machine: no admin endpoint.
        "{\n": "{\n\tadmin off\n",
        # No certificate on loopback: http, on a port of its own.
        f"\n{SITE} {{\n": f"\nhttp://{SITE}:{port} {{\n\tbind 127.0.0.1\n",
    }
    for host, upstream in zip(APP_HOSTS, upstreams, strict=True):
        moves[f" {host}:{APP_PORT}"] = f" {upstream}"
    for written, here in moves.items():
        assert text.count(written) >= 1, f"the guide's Caddyfile no longer has {written!r}"
        text = text.replace(written, here, 1)
    return text
