"""The `voisinage` command: serve, worker, migrate, demo, createadmin, import-neighbourhoods, import-addresses,
backup, restore, vapid, bounce."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app import serving
from app.migrating import migrate, with_db
from app.settings import data_dir_from_env, data_dir_problem

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")


async def _vapid() -> str:
    from app.db import keys
    from app.notify.push import vapid_keys

    await migrate(quiet=True)
    return vapid_keys(await keys.load()).application_server_key


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


async def _backup(target: str | None) -> Path:
    from app.db.backup import create
    from app.settings import get_settings

    settings = get_settings()
    return await create(settings, Path(target) if target else settings.data_dir / "backups")


async def _restore(archive: str, replace: bool) -> None:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    from app.db.restore import restore
    from app.piccolo_app import APP_CONFIG
    from app.settings import get_settings

    known = set(BaseMigrationManager().get_migration_modules(APP_CONFIG.resolved_migrations_folder_path))
    manifest, files = await restore(get_settings(), Path(archive), known_migrations=known, replace=replace)
    # Brings an older backup up to this code's schema (and moves in what later versions keep in the database).
    await with_db(migrate(quiet=True))
    print(
        f"Sauvegarde du {manifest.get('created_at', '?')} restaurée (Voisinage {manifest.get('app_version', '?')}, "
        f"migration {manifest.get('migration')}), {files} fichiers du dossier de données ; base migrée."
    )


async def _bounce(raw: bytes, recipient: str | None) -> str:
    from app.db import keys
    from app.notify.bounces import handle

    await keys.load()  # the secret key that signed the bounce address
    return await handle(raw, recipient)


def _read_bounce(recipient: str | None) -> None:
    """As an MTA's pipe needs it: all of stdin read (a command that stops reading
    fails the delivery), exit 0 for whatever the message is, 75 (EX_TEMPFAIL:
    the MTA tries again later) when the database cannot be reached."""
    from app.logs import configure
    from app.notify.bounces import MAX_BYTES

    configure()
    raw = sys.stdin.buffer.read(MAX_BYTES)
    while sys.stdin.buffer.read(1 << 16):
        pass
    try:
        asyncio.run(with_db(_bounce(raw, recipient)))
    except Exception as exc:  # noqa: BLE001 - bad input is answered by handle() itself; what escapes is worth a retry
        print(f"bounce not read: {type(exc).__name__}", file=sys.stderr)
        raise SystemExit(75) from None


def _refusing(command: Callable[[], object]) -> object:
    """A refusal (or the disk failing) as a message and a non-zero exit, never a traceback."""
    from app.db.backup import Refused

    try:
        return command()
    except Refused as exc:
        raise SystemExit(str(exc)) from None
    except OSError as exc:
        raise SystemExit(
            f"Échec : {exc.strerror or exc} ({exc.filename or ''}).\nFailed: {exc.strerror or exc} ({exc.filename or ''})."
        ) from None


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"un nombre entier d'au moins 1 est attendu, pas {raw!r}")
    return int(raw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="voisinage", description="Voisinage, le réseau de votre quartier")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrer la base puis servir l'application")
    serve.add_argument("--host", default=os.environ.get("VOISINAGE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("VOISINAGE_PORT", "8000")))
    serve.add_argument("--demo", action="store_true", help="charger les données de démonstration si la base est vide")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="processus qui servent les requêtes (défaut : 1) ; au-delà d'un, le processus parent fait le travail "
        "de fond (envois, rappels) une seule fois pour tous",
    )
    worker = sub.add_parser("worker", help="envoyer les notifications push et les rappels, à part du serveur")
    worker.add_argument("--once", action="store_true", help="envoyer ce qui est dû puis s'arrêter")
    worker.add_argument("--batch", type=int, default=50, help="envois par lot (défaut : 50)")
    worker.add_argument(
        "--lease", type=float, default=60.0, help="secondes avant qu'un lot d'un worker arrêté soit repris"
    )
    worker.add_argument("--backoff", type=float, default=30.0, help="premier délai avant de réessayer, en secondes")
    worker.add_argument("--poll", type=float, default=1.0, help="secondes entre deux regards sur la file")
    worker.add_argument(
        "--metrics",
        metavar="[HOST:]PORT",
        help="servir les métriques Prometheus de ce worker sur cette adresse (défaut de l'hôte : 127.0.0.1)",
    )
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
    backup = sub.add_parser(
        "backup",
        help="sauvegarder la base de données, les clés et les photos du dossier de données dans un seul fichier "
        "lisible par son seul propriétaire",
    )
    backup.add_argument("--to", help="dossier de destination (défaut : data/backups, créé en 0700)")
    restore = sub.add_parser(
        "restore",
        help="restaurer une sauvegarde dans la base configurée, puis la migrer ; arrêtez d'abord les serveurs "
        "et les workers",
    )
    restore.add_argument("file", metavar="FILE", help="fichier écrit par `voisinage backup`")
    restore.add_argument("--yes", action="store_true", help="remplacer les données d'une base qui en contient déjà")
    bounce = sub.add_parser(
        "bounce",
        help="lire sur l'entrée standard un avis de non-remise (RFC 3464) que le serveur de mail y envoie ; "
        "un échec définitif arrête les e-mails de ce compte",
    )
    bounce.add_argument(
        "--recipient", help="l'adresse de retour à laquelle l'avis est arrivé (bounce+…@…, ${recipient} de Postfix)"
    )
    args = parser.parse_args(argv)
    if args.command in ("backup", "restore"):
        # Every file these make holds personal data: the owner's alone, also
        # those SQLite and pg_dump create, and the restored database's journal.
        os.umask(0o077)

    if args.command != "backup":  # the others write there: say so now rather than fail later
        data_dir = data_dir_from_env()
        if problem := data_dir_problem(data_dir):
            raise SystemExit(
                f"Le dossier de données {data_dir} n'est pas accessible en écriture ({problem}) : "
                "vérifiez VOISINAGE_DATA_DIR et les droits de ce dossier.\n"
                f"The data directory {data_dir} is not writable ({problem})."
            )

    if args.command == "serve":
        serving.serve(args.host, args.port, args.demo, args.workers)
    elif args.command == "worker":
        asyncio.run(
            with_db(
                serving.worker(args.once, args.batch, args.lease, args.backoff, args.poll, metrics=args.metrics),
                bounded=True,
            )
        )
    elif args.command == "vapid":
        print(asyncio.run(with_db(_vapid())))
    elif args.command == "migrate":
        asyncio.run(with_db(migrate()))
    elif args.command == "demo":
        asyncio.run(with_db(_demo()))
    elif args.command == "createadmin":
        asyncio.run(with_db(_createadmin(args.email, args.password, args.first_name, args.last_name)))
    elif args.command == "import-neighbourhoods":
        asyncio.run(with_db(_import(args.file, args.crs, args.layer, args.name_property, args.city)))
    elif args.command == "import-addresses":
        asyncio.run(with_db(_import_addresses(args.files, args.keep_missing)))
    elif args.command == "bounce":
        _read_bounce(args.recipient)
    elif args.command == "backup":
        print(_refusing(lambda: asyncio.run(_backup(args.to))))
    elif args.command == "restore":
        _refusing(lambda: asyncio.run(_restore(args.file, args.yes)))


if __name__ == "__main__":
    main()
