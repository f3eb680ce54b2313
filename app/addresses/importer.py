"""`voisinage import-addresses FILE`: a Base Adresse Nationale export into the address tables.

The file is the one adresse.data.gouv.fr publishes per département
(`adresses-DD.csv.gz`, or the same uncompressed), read as a stream in batches:
memory stays bounded whatever its size. Each run stamps the rows it writes;
once the whole file went through, the rows of its départements that an older
run stamped are the addresses that disappeared, and only they are removed. A
file that breaks half-way removes nothing. Several départements live side by
side: a file only ever touches its own.

SQLite: big `executemany` batches in the engine's writer transactions.
PostgreSQL: COPY into temporary staging tables, then one upsert per batch.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from app.addresses import text
from app.addresses.tables import AddressImport

COLUMNS = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;"
    "nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;libelle_acheminement;nom_afnor;"
    "source_position;source_nom_voie;certification_commune;cad_parcelles"
).split(";")
REQUIRED = ("id", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune", "lon", "lat")
BATCH = 20_000

Progress = Callable[[int, float], None]  # rows read so far, share of the file read


class BanFileError(ValueError):
    """The file is not a BAN export: said in French, for the operator."""


@dataclass
class ImportReport:
    run: int = 0
    rows: int = 0
    skipped: int = 0
    removed: int = 0
    departments: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Way(NamedTuple):
    key: str
    department: str
    name: str
    postcode: str
    insee: str
    city: str
    search: str


@dataclass
class Batch:
    ways: dict[str, Way]
    # ban_id, way key, number, rep, lon, lat
    addresses: list[tuple[str, str, int, str, float, float]]
    skipped: int
    position: float


def _open(path: Path) -> tuple[io.TextIOBase, io.BufferedReader]:
    raw = path.open("rb")
    compressed = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    stream = gzip.GzipFile(fileobj=raw) if compressed else raw
    # utf-8-sig: the same file saved again by a spreadsheet starts with a byte-order mark.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), raw


def read_batches(path: Path, size: int = BATCH) -> Iterator[Batch]:
    """The file as batches of parsed rows, with their streets; raises BanFileError on a file that is not one."""
    if not path.is_file():
        raise BanFileError(f"fichier introuvable : {path}")
    total = max(path.stat().st_size, 1)
    handle, raw = _open(path)
    with handle, raw:
        reader = _Rows(handle)
        try:
            header = next(iter(reader))
        except StopIteration:
            raise BanFileError(f"{path.name} est vide") from None
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
            raise BanFileError(f"{path.name} n'est pas un export de la Base Adresse Nationale ({exc})") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise BanFileError(
                f"{path.name} n'est pas un export de la Base Adresse Nationale : "
                f"colonnes manquantes {', '.join(missing)} (attendu : {';'.join(COLUMNS[:8])};…)"
            )
        at = {name: header.index(name) for name in COLUMNS if name in header}
        try:
            yield from _batches(reader, at, size, lambda: raw.tell() / total)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
            raise BanFileError(f"{path.name} est illisible après {reader.lines} lignes : {exc}") from None


class _Rows:
    """The file's rows split on ";", twice as fast as the csv module; a line with a quote (a quoted field,
    which may hold a ";" or run over several lines) is read by the csv module."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle = handle
        self.lines = 0

    def __iter__(self) -> Iterator[list[str]]:
        for line in self.handle:
            self.lines += 1
            if '"' not in line:
                yield line.rstrip("\r\n").split(";")
                continue
            while line.count('"') % 2 and (more := next(self.handle, "")):
                self.lines += 1
                line += more
            yield next(csv.reader([line], delimiter=";", strict=True))


def _batches(reader: _Rows, at: dict[str, int], size: int, position: Callable[[], float]) -> Iterator[Batch]:
    # The hot loop of an import: plain locals, one dict lookup per row for the street.
    width = max(at.values()) + 1
    i_id, i_number, i_rep, i_name = at["id"], at["numero"], at["rep"], at["nom_voie"]
    i_postcode, i_insee, i_lon, i_lat, i_place = (
        at["code_postal"],
        at["code_insee"],
        at["lon"],
        at["lat"],
        at.get("nom_ld"),
    )
    reps: dict[str, str] = {}
    last = key = None
    batch = Batch({}, [], 0, 0.0)
    ways, addresses = batch.ways, batch.addresses
    for fields in reader:
        try:
            if len(fields) < width:
                raise ValueError
            number, lon, lat = int(fields[i_number]), float(fields[i_lon]), float(fields[i_lat])
            ban_id, rep, name, postcode, insee = (
                fields[i_id],
                fields[i_rep],
                fields[i_name],
                fields[i_postcode],
                fields[i_insee],
            )
            if not name and i_place is not None:
                name = fields[i_place]
            if (
                not ban_id
                or not name
                or len(postcode) != 5
                or len(insee) != 5
                or not (-180 <= lon <= 180 and -90 <= lat <= 90)
            ):
                raise ValueError
        except ValueError:
            batch.skipped += 1
            continue
        if name[0].isdigit():
            # Some rows carry their own number in the street's name ("11P4 Rue Saint-Blaise"): the street is Rue Saint-Blaise.
            prefix = f"{number}{rep} ".lower()
            if name[: len(prefix)].lower() == prefix:
                name = name[len(prefix) :]
        if (insee, postcode, name) != last:  # the rows of a street follow each other
            last = (insee, postcode, name)
            key = f"{insee}|{postcode}|{name}"
            if key not in ways:
                ways[key] = _way(key, fields, at, name, postcode, insee)
        code = reps.get(rep)
        if code is None:
            code = reps[rep] = text.rep_code(rep)
        addresses.append((ban_id, key, number, code, lon, lat))
        if len(addresses) >= size:
            batch.position = position()
            yield batch
            batch = Batch({}, [], 0, 0.0)
            ways, addresses, last = batch.ways, batch.addresses, None
    batch.position = 1.0
    yield batch


def _way(key: str, fields: list[str], at: dict[str, int], name: str, postcode: str, insee: str) -> Way:
    city = text.city_name(fields[at["nom_commune"]])
    name_words = text.words(name)
    # The postal town and a merged commune's old name are what people still write on letters.
    places: list[str] = []
    for column in ("nom_commune", "libelle_acheminement", "nom_ancienne_commune"):
        if column in at:
            places += [w for w in text.words(fields[at[column]]) if w.isalpha() and w != "arrondissement"]
    search = " ".join((*name_words, *dict.fromkeys(w for w in places if w not in name_words)))
    return Way(key, text.department(insee), name, postcode, insee, city, search)


async def import_file(
    path: Path | str, progress: Progress | None = None, *, remove_missing: bool = True, batch: int = BATCH
) -> ImportReport:
    """Imports the file; with `remove_missing`, the addresses of its départements that it no longer holds go."""
    from piccolo.engine import engine_finder

    path = Path(path)
    engine = engine_finder()
    started = time.perf_counter()
    batches = read_batches(path, batch)
    first = next(batches)  # a file that is not a BAN export stops here, before any run is recorded
    run = (await AddressImport.insert(AddressImport(file=path.name[:300])))[0]["id"]
    report = ImportReport(run=run)
    writer = _SQLiteWriter(engine) if engine.engine_type == "sqlite" else _PostgresWriter(engine)
    async with writer:
        current: Batch | None = first
        while current is not None:
            # The next batch is parsed in a thread while the database writes this one.
            write = asyncio.create_task(writer.write(current, run))
            try:
                following = await asyncio.to_thread(next, batches, None)
            finally:
                await write
            report.rows += len(current.addresses)
            report.skipped += current.skipped
            report.departments.update(w.department for w in current.ways.values())
            if progress:
                progress(report.rows, current.position)
            current = following
        if remove_missing:
            report.removed = await writer.remove_older(sorted(report.departments), run)
    report.seconds = time.perf_counter() - started
    await AddressImport.update(
        {
            AddressImport.rows: report.rows,
            AddressImport.removed: report.removed,
            AddressImport.departments: ",".join(sorted(report.departments)),
            AddressImport.finished_at: datetime.now(timezone.utc),
        }
    ).where(AddressImport.id == run)
    return report


_WAY_COLUMNS = Way._fields
_UPDATE_WAY = ", ".join(f"{c} = excluded.{c}" for c in (*_WAY_COLUMNS[1:], "import_run"))
_UPDATE_ADDRESS = ", ".join(f"{c} = excluded.{c}" for c in ("way", "number", "rep", "lon", "lat", "import_run"))
_REMOVE_ADDRESSES = (
    "DELETE FROM address WHERE import_run < {run} AND way IN "
    "(SELECT id FROM address_way WHERE department IN ({departments}))"
)
_REMOVE_WAYS = "DELETE FROM address_way WHERE import_run < {run} AND department IN ({departments})"


def _words(batch: Batch) -> list[tuple[str, str]]:
    """(form, word) of every word of the batch's names. Never removed: a word that left the file
    only costs a correction that leads nowhere."""
    words = {w for way in batch.ways.values() for w in way.search.split()}
    return sorted({(form, w) for w in words for form in text.forms(w)})


class _SQLiteWriter:
    def __init__(self, engine) -> None:
        self.engine = engine

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def write(self, batch: Batch, run: int) -> None:
        async with self.engine.transaction() as tx:
            await tx.connection.executemany(
                f"INSERT INTO address_way ({', '.join(_WAY_COLUMNS)}, import_run) VALUES (?, ?, ?, ?, ?, ?, ?, {int(run)}) "
                f"ON CONFLICT (key) DO UPDATE SET {_UPDATE_WAY}",
                list(batch.ways.values()),
            )
            # The street's id by its unique key, in SQLite's own loop rather than a round trip per batch.
            await tx.connection.executemany(
                "INSERT OR IGNORE INTO address_word (form, word) VALUES (?, ?)", _words(batch)
            )
            await tx.connection.executemany(
                "INSERT INTO address (ban_id, way, number, rep, lon, lat, import_run) "
                f"VALUES (?, (SELECT id FROM address_way WHERE key = ?), ?, ?, ?, ?, {int(run)}) "
                f"ON CONFLICT (ban_id) DO UPDATE SET {_UPDATE_ADDRESS}",
                batch.addresses,
            )

    async def remove_older(self, departments: list[str], run: int) -> int:
        if not departments:
            return 0
        marks = ", ".join("?" * len(departments))
        async with self.engine.transaction() as tx:
            cursor = await tx.connection.execute(
                _REMOVE_ADDRESSES.format(run="?", departments=marks), [run, *departments]
            )
            removed = cursor.rowcount
            await tx.connection.execute(_REMOVE_WAYS.format(run="?", departments=marks), [run, *departments])
        return removed


class _PostgresWriter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.connection = None

    async def __aenter__(self):
        self.connection = await self.engine.get_new_connection()
        # A batch need not wait for the disk: a crash loses at most the last ones, which running the
        # import again rewrites (nothing is removed before the whole file went through).
        await self.connection.execute("SET synchronous_commit = off")
        await self.connection.execute(
            "CREATE TEMP TABLE address_way_staging (key text, department text, name text, postcode text, "
            "insee text, city text, search text) ON COMMIT DELETE ROWS"
        )
        await self.connection.execute(
            "CREATE TEMP TABLE address_staging (ban_id text, key text, number integer, rep text, "
            "lon double precision, lat double precision) ON COMMIT DELETE ROWS"
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.connection.close()

    async def write(self, batch: Batch, run: int) -> None:
        conn = self.connection
        async with conn.transaction():
            await conn.copy_records_to_table(
                "address_way_staging", columns=Way._fields, records=list(batch.ways.values())
            )
            await conn.copy_records_to_table(
                "address_staging", records=batch.addresses, columns=("ban_id", "key", "number", "rep", "lon", "lat")
            )
            await conn.execute(
                f"INSERT INTO address_way ({', '.join(_WAY_COLUMNS)}, import_run) "
                f"SELECT {', '.join(_WAY_COLUMNS)}, $1 FROM address_way_staging "
                f"ON CONFLICT (key) DO UPDATE SET {_UPDATE_WAY}",
                run,
            )
            pairs = _words(batch)
            await conn.execute(
                "INSERT INTO address_word (form, word) SELECT * FROM unnest($1::text[], $2::text[]) "
                "ON CONFLICT DO NOTHING",
                [f for f, _ in pairs],
                [w for _, w in pairs],
            )
            # DISTINCT ON: one upsert may not touch a row twice, and an export may repeat an id.
            await conn.execute(
                "INSERT INTO address (ban_id, way, number, rep, lon, lat, import_run) "
                "SELECT DISTINCT ON (s.ban_id) s.ban_id, w.id, s.number, s.rep, s.lon, s.lat, $1 "
                "FROM address_staging s JOIN address_way w ON w.key = s.key ORDER BY s.ban_id "
                f"ON CONFLICT (ban_id) DO UPDATE SET {_UPDATE_ADDRESS}",
                run,
            )

    async def remove_older(self, departments: list[str], run: int) -> int:
        if not departments:
            return 0
        async with self.connection.transaction():
            status = await self.connection.execute(
                _REMOVE_ADDRESSES.format(run="$1", departments="SELECT unnest($2::text[])"), run, departments
            )
            await self.connection.execute(
                _REMOVE_WAYS.format(run="$1", departments="SELECT unnest($2::text[])"), run, departments
            )
        return int(status.split()[-1])


class ProgressBar:
    """A line on stderr, redrawn at most a few times a second (a new line each time when not a terminal)."""

    def __init__(self, label: str, stream=None, every: float = 0.25) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.every = every
        self.started = self.shown = time.perf_counter()
        self.tty = self.stream.isatty()
        self.finished = False

    def __call__(self, rows: int, share: float) -> None:
        now = time.perf_counter()
        if self.finished or (now - self.shown < (self.every if self.tty else 5.0) and share < 1.0):
            return
        self.finished = share >= 1.0
        self.shown = now
        width = 30
        filled = int(width * min(share, 1.0))
        rate = rows / max(now - self.started, 1e-9)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {share:4.0%}  {rows:,} lignes  {rate:,.0f}/s"
        ).replace(",", "\u202f")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and share >= 1.0:
            self.stream.write("\n")
        self.stream.flush()
