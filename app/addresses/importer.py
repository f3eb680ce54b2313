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

from app.addresses import text
from app.addresses.tables import AddressImport
from app.addresses.writers import Batch, PostgresWriter, SQLiteWriter, Way

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
    writer = SQLiteWriter(engine) if engine.engine_type == "sqlite" else PostgresWriter(engine)
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
        await writer.finish()
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
