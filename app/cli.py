"""The `voisinage` command: serve, worker, migrate, demo, createadmin, import-neighbourhoods, import-addresses,
backup, vapid."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import io
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from app.settings import data_dir_from_env, data_dir_problem

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")


async def migrate(quiet: bool = False) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO()
    # Piccolo narrates every migration; a server start should stay readable.
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="voisinage")
    if not result.success:
        raise SystemExit(f"migrations failed: {result.message}\n{out.getvalue()}")


async def _serve(host: str, port: int, demo: bool) -> None:
    import uvicorn

    from app import live
    from app.main import create_app

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None) -> None:
            # Open live streams would hold the exit back until the graceful
            # timeout; ended now, their pages reconnect at once, to another process.
            live.HUB.drop_all()
            await super().shutdown(sockets)

    from app.piccolo_conf import DB

    await DB.start_connection_pool()
    try:
        await migrate(quiet=True)
        if demo:
            from app.demo import load_demo

            if await load_demo():
                print("Données de démonstration chargées (voir le README pour les comptes).")
        await _warn_without_addresses()
    finally:
        # Also on failure: an open SQLite connection's thread would keep the process from exiting.
        await DB.close_connection_pool()
    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        proxy_headers=False,  # client addresses come from VOISINAGE_TRUSTED_PROXIES, see app/web.py
        # h11 refuses (400) a request line and headers beyond this size; the
        # faster httptools parser buffers them without limit: one client
        # sending an endless header would fill the server's memory.
        http="h11",
        h11_max_incomplete_event_size=32 * 1024,
        server_header=False,
        timeout_graceful_shutdown=5,
        log_level="info",
        access_log=os.environ.get("VOISINAGE_ACCESS_LOG", "1") != "0",
    )
    print(f"Voisinage : http://{host}:{port}")
    # uvicorn re-raises the signal it stopped on once it has shut down cleanly;
    # this handler turns that into exit status 0 for service managers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    await Server(config).serve()


async def _with_db(coro):
    from app.piccolo_conf import DB

    await DB.start_connection_pool()
    try:
        return await coro
    finally:
        await DB.close_connection_pool()


async def _worker(once: bool, batch: int, lease: float, backoff: float, poll: float) -> None:
    """Push deliveries and reminders, apart from the web server (run the server
    with VOISINAGE_BACKGROUND_WORK=0 then). Several may run side by side."""
    from app.background import running
    from app.main import background_loops
    from app.notify import outbox
    from app.notify.push import Sender
    from app.settings import get_settings

    await migrate(quiet=True)
    if once:
        sender = Sender(get_settings())
        try:
            print(
                f"{await outbox.run_until_idle(sender, batch_size=batch, lease=lease, backoff_base=backoff)} notifications envoyées."
            )
        finally:
            await sender.aclose()
        return
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(
        background_loops(get_settings(), poll=poll, batch_size=batch, lease=lease, backoff_base=backoff)
    ):
        print("Voisinage : worker démarré.", flush=True)
        await stop.wait()


def _vapid() -> str:
    from app.notify.push import vapid_keys
    from app.settings import get_settings

    return vapid_keys(get_settings()).application_server_key


async def _demo() -> None:
    from app.demo import load_demo

    await migrate(quiet=True)
    print(
        "Données de démonstration chargées."
        if await load_demo()
        else "La base contient déjà des données : rien à faire."
    )


async def _createadmin(email: str, password: str | None, first: str, last: str) -> None:
    from app.accounts import queries
    from app.accounts.passwords import hash_password, password_problem
    from app.accounts.tables import User

    await migrate(quiet=True)
    email = email.strip().lower()
    user = await queries.user_by_email(email)
    if user is not None:
        await User.update({User.role: "admin"}).where(User.id == user.id)
        print(f"{email} est maintenant administrateur.")
        return
    if password is None:
        password = os.environ.get("VOISINAGE_ADMIN_PASSWORD") or (
            getpass.getpass("Mot de passe : ") if sys.stdin.isatty() else ""
        )
    if problem := password_problem(password, email=email):
        raise SystemExit(problem)
    user = await queries.create_user(
        first_name=first, last_name=last, email=email, password_hash=await hash_password(password)
    )
    await User.update({User.role: "admin"}).where(User.id == user.id)
    print(f"Administrateur {email} créé.")


async def _import(path: str, crs: str | None, layer: str | None, name_property: str | None, city: str | None) -> None:
    from app.neighbourhoods import importing
    from app.neighbourhoods.queries import OPENING_THRESHOLD

    await migrate(quiet=True)
    try:
        areas = importing.read_areas(Path(path), crs=crs, layer=layer, name_property=name_property, city=city)
    except ValueError as exc:
        raise SystemExit(f"Import impossible : {exc}") from None
    created, updated = await importing.save(areas)
    if areas.kind == "iris":
        print(
            f"{created + updated} secteurs IRIS importés ({created} nouveaux) : chacun est un quartier en formation "
            f"qui ouvrira à {OPENING_THRESHOLD} voisins."
        )
    else:
        print(f"{created + updated} quartiers importés ({created} nouveaux).")


async def _import_addresses(paths: list[str], keep_missing: bool) -> None:
    from babel.numbers import format_decimal

    from app.addresses.importer import BanFileError, ProgressBar, import_file

    await migrate(quiet=True)
    for path in paths:
        try:
            report = await import_file(path, ProgressBar(Path(path).name), remove_missing=not keep_missing)
        except BanFileError as exc:
            raise SystemExit(f"Import impossible : {exc}") from None
        departments = ", ".join(sorted(report.departments)) or "aucun"
        n = functools.partial(format_decimal, locale="fr_FR", format="#,##0")
        print(
            f"{Path(path).name} : {n(report.rows)} adresses importées (départements : {departments}), "
            f"{n(report.removed)} disparues retirées, {n(report.skipped)} lignes ignorées, "
            f"{n(report.rows_per_second)} lignes/s."
        )


async def _warn_without_addresses() -> None:
    from app.addresses.tables import Address
    from app.settings import get_settings

    if get_settings().geocoder != "ban" and not await Address.exists():
        print(
            "Aucune adresse importée : toute adresse sera refusée. Importez la Base Adresse Nationale de vos "
            "départements avec `voisinage import-addresses adresses-DD.csv.gz` (ou lancez avec --demo).",
            file=sys.stderr,
        )


def _backup(target: str | None) -> Path:
    from app.settings import get_settings

    settings = get_settings()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(target) if target else settings.data_dir / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    if settings.is_postgres:
        import subprocess

        out = folder / f"voisinage-{stamp}.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={out}", settings.database_url], check=True)
        return out
    import sqlite3

    out = folder / f"voisinage-{stamp}.sqlite3"
    # The online backup API copies a consistent snapshot while the server keeps writing.
    src = sqlite3.connect(settings.sqlite_path)
    dst = sqlite3.connect(out)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="voisinage", description="Voisinage, le réseau de votre quartier")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrer la base puis servir l'application")
    serve.add_argument("--host", default=os.environ.get("VOISINAGE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("VOISINAGE_PORT", "8000")))
    serve.add_argument("--demo", action="store_true", help="charger les données de démonstration si la base est vide")
    worker = sub.add_parser("worker", help="envoyer les notifications push et les rappels, à part du serveur")
    worker.add_argument("--once", action="store_true", help="envoyer ce qui est dû puis s'arrêter")
    worker.add_argument("--batch", type=int, default=50, help="envois par lot (défaut : 50)")
    worker.add_argument(
        "--lease", type=float, default=60.0, help="secondes avant qu'un lot d'un worker arrêté soit repris"
    )
    worker.add_argument("--backoff", type=float, default=30.0, help="premier délai avant de réessayer, en secondes")
    worker.add_argument("--poll", type=float, default=1.0, help="secondes entre deux regards sur la file")
    sub.add_parser("vapid", help="afficher la clé publique VAPID (la crée si besoin)")
    sub.add_parser("migrate", help="appliquer les migrations")
    sub.add_parser("demo", help="charger les données de démonstration")
    admin = sub.add_parser("createadmin", help="créer un administrateur (ou promouvoir un compte existant)")
    admin.add_argument("email")
    admin.add_argument("--password")
    admin.add_argument("--first-name", default="Admin")
    admin.add_argument("--last-name", default="Voisinage")
    imp = sub.add_parser("import-neighbourhoods", help="importer des quartiers ou des IRIS (GeoJSON ou GeoPackage)")
    imp.add_argument("file")
    imp.add_argument(
        "--crs", help="système de coordonnées du fichier s'il ne le dit pas (EPSG:2154 pour le Lambert-93)"
    )
    imp.add_argument("--layer", help="couche à lire dans un GeoPackage qui en a plusieurs")
    imp.add_argument("--name-property", help="propriété qui porte le nom du quartier (l_qu pour Paris Data)")
    imp.add_argument("--city", help="ville des quartiers, avec --name-property")
    addresses = sub.add_parser(
        "import-addresses",
        help="importer ou mettre à jour les adresses d'un ou plusieurs "
        "départements (export de la Base Adresse Nationale, adresses-DD.csv.gz)",
    )
    addresses.add_argument("files", nargs="+", metavar="FILE")
    addresses.add_argument(
        "--keep-missing",
        action="store_true",
        help="ne retirer aucune adresse absente du fichier (un extrait, pas un département entier)",
    )
    backup = sub.add_parser("backup", help="sauvegarder la base de données")
    backup.add_argument("--to", help="dossier de destination (défaut : data/backups)")
    args = parser.parse_args(argv)

    if args.command != "backup":  # the others write there: say so now rather than fail later
        data_dir = data_dir_from_env()
        if problem := data_dir_problem(data_dir):
            raise SystemExit(
                f"Le dossier de données {data_dir} n'est pas accessible en écriture ({problem}) : "
                "vérifiez VOISINAGE_DATA_DIR et les droits de ce dossier.\n"
                f"The data directory {data_dir} is not writable ({problem})."
            )

    if args.command == "serve":
        asyncio.run(_serve(args.host, args.port, args.demo))
    elif args.command == "worker":
        asyncio.run(_with_db(_worker(args.once, args.batch, args.lease, args.backoff, args.poll)))
    elif args.command == "vapid":
        print(_vapid())
    elif args.command == "migrate":
        asyncio.run(_with_db(migrate()))
    elif args.command == "demo":
        asyncio.run(_with_db(_demo()))
    elif args.command == "createadmin":
        asyncio.run(_with_db(_createadmin(args.email, args.password, args.first_name, args.last_name)))
    elif args.command == "import-neighbourhoods":
        asyncio.run(_with_db(_import(args.file, args.crs, args.layer, args.name_property, args.city)))
    elif args.command == "import-addresses":
        asyncio.run(_with_db(_import_addresses(args.files, args.keep_missing)))
    elif args.command == "backup":
        print(_backup(args.to))


if __name__ == "__main__":
    main()
