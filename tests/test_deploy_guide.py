"""docs/deploy.md's configuration files, checked as an operator copies them:
by Caddy, systemd, PostgreSQL and Voisinage itself. (tests/test_through_caddy.py
runs the Caddyfile and the environment file with real processes.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.settings import ROOT, load_settings
from tests import deploy_guide as guide


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.skipif(shutil.which("caddy") is None, reason="Debian's caddy is not installed (.ci/test installs it)")
def test_the_caddyfile_is_valid_for_caddy_as_written(tmp_path):
    config = tmp_path / "Caddyfile"
    config.write_text(guide.config_files()[guide.CADDYFILE])
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    checked = _run(["caddy", "validate", "--config", str(config), "--adapter", "caddyfile"], env=env)
    assert checked.returncode == 0, checked.stderr
    # Written as `caddy fmt` writes it: Caddy warns about any other layout when it loads the file.
    assert "not formatted" not in checked.stderr, checked.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify_with_the_command_they_start(tmp_path):
    units = {Path(path).name: text for path, text in guide.config_files().items() if "/systemd/system/" in path}
    assert {"voisinage.service", "voisinage-worker.service", "voisinage@.service"} <= set(units)
    # The command as installed here stands for /srv/voisinage/.venv/bin/voisinage: systemd checks it exists.
    command = Path(sys.executable).with_name("voisinage")
    assert command.exists(), f"{command}: install Voisinage into this venv (pip install -e .)"
    for name, text in units.items():
        assert guide.COMMAND in text or name.endswith(".timer"), name
        (tmp_path / name).write_text(text.replace(guide.COMMAND, str(command)))
    names = [str(tmp_path / name) for name in units]
    verified = _run(["systemd-analyze", "verify", *names], cwd=tmp_path)
    # Unknown keys and bad values are only warnings to systemd: none is accepted here.
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr
    for name in ("voisinage.service", "voisinage-worker.service", "voisinage@.service"):
        assert f"EnvironmentFile={guide.ENVIRONMENT}\n" in units[name]
        assert "User=voisinage\n" in units[name]


def test_the_units_start_voisinage_with_arguments_it_accepts(capsys):
    from app import cli

    started = [
        shlex.split(line.removeprefix("ExecStart=").replace("%i", "8001"))
        for path, text in guide.config_files().items()
        for line in text.splitlines()
        if path.endswith(".service") and line.startswith("ExecStart=")
    ]
    assert {args[1] for args in started} == {"serve", "worker", "backup"}
    for command, *args in started:
        assert command == guide.COMMAND
        # Parsed up to the end, then --help: a bad argument stops it first.
        with pytest.raises(SystemExit) as stopped:
            cli.main([*args, "--help"])
        assert stopped.value.code == 0, (args, capsys.readouterr().err)


def test_the_environment_file_sets_what_a_multi_host_installation_needs(monkeypatch):
    values = guide.environment()
    must_set = {
        "DATABASE_URL",
        "VOISINAGE_BASE_URL",
        "VOISINAGE_ALLOWED_HOSTS",
        "VOISINAGE_TRUSTED_PROXIES",
        "VOISINAGE_DATA_DIR",
        "VOISINAGE_SMTP_URL",
        "VOISINAGE_MAIL_FROM",
        "VOISINAGE_BACKGROUND_WORK",
        "VOISINAGE_DB_POOL_MAX",
        "VOISINAGE_DB_STATEMENT_TIMEOUT_MS",
        "VOISINAGE_METRICS_ALLOW",
    }
    assert must_set <= set(values)
    # A misspelt name would be ignored without a word: each is one the settings read.
    read = (ROOT / "app" / "settings.py").read_text()
    assert [key for key in values if f'"{key}"' not in read] == []

    for key in [k for k in os.environ if k.startswith("VOISINAGE_")] + ["DATABASE_URL"]:
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.is_postgres and settings.https
    assert settings.host == guide.SITE
    assert {guide.SITE, *guide.APP_HOSTS} <= set(settings.allowed_hosts)
    assert settings.trusted_proxies == (guide.CADDY_HOST,)
    assert not settings.background_work
    assert [str(n) for n in settings.metrics_allow] == [f"{guide.PROMETHEUS_HOST}/32"]
    assert settings.smtp_url.startswith("smtp+starttls://") and "<" in settings.mail_from


def test_the_environment_file_reads_the_same_in_a_shell(tmp_path):
    """The upgrade steps source it with sh; systemd reads it as EnvironmentFile=."""
    path = tmp_path / "voisinage.env"
    path.write_text(guide.config_files()[guide.ENVIRONMENT])
    shell = _run(["sh", "-c", f'set -a && . "{path}" && env -0'], env={"PATH": os.environ["PATH"]})
    assert shell.returncode == 0, shell.stderr
    exported = dict(line.split("=", 1) for line in shell.stdout.split("\0") if "=" in line)
    assert {key: exported.get(key) for key in guide.environment()} == guide.environment()


def _postgres() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    return found[-1] if found else None


@pytest.mark.skipif(_postgres() is None, reason="PostgreSQL's server is not installed")
def test_postgresql_accepts_the_settings_and_they_leave_room_for_every_process():
    settings = guide.postgresql_settings()
    # `postgres -C` reads a configuration file and prints a setting.
    folder = Path(tempfile.mkdtemp(prefix="voisinage-pgconf-"))
    try:
        (folder / "postgresql.conf").write_text(guide.config_files()[guide.POSTGRESQL_CONF])
        as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(folder, "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        # The whole file is read each time: one unknown name or bad value anywhere and it fails.
        shown = {}
        for name in ("max_connections", "statement_timeout"):
            answer = _run([*as_user, str(_postgres()), "-D", str(folder), "-C", name])
            assert answer.returncode == 0, answer.stderr
            shown[name] = answer.stdout.strip()
        # Requests are bounded by the app; migrations, imports and backups must not be.
        assert shown == {"max_connections": settings["max_connections"], "statement_timeout": "0"}
    finally:
        shutil.rmtree(folder)

    # Every process's pool at its fullest, with room for a backup, migrations and psql.
    files = guide.config_files()
    hosts = len(re.search(r"reverse_proxy ([^{]+)\{", files[guide.CADDYFILE]).group(1).split())
    workers = int(re.search(r"--workers (\d+)", files[guide.SERVE_UNIT]).group(1))
    per_process = int(guide.environment()["VOISINAGE_DB_POOL_MAX"])
    needed = hosts * (workers + 1) * per_process
    assert needed + 10 <= int(settings["max_connections"]) - 3  # 3: superuser_reserved_connections
