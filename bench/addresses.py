"""Address import and search over half a million real addresses.

    python -m bench.addresses                       # Paris, padded to 500,000 rows, on SQLite
    python -m bench.addresses --postgresql postgresql://postgres@127.0.0.1:5432/bench   # the same on PostgreSQL
    python -m bench.addresses --file adresses-21.csv.gz --rows 0    # any BAN export, as it is

The file is the BAN export of Paris (`../shared/data/adresses-75.csv.gz` beside
the repository, or `--file`). To reach `--rows` it is followed by copies of
itself with the house numbers shifted by 1000, 2000… (same streets, more
numbers: a larger lookup per street, as in a big town). The evaluation set is
built from the real rows of the file: each sampled address is written the way
people write it, with one or two of these mistakes, and the search must give
that very address (its BAN id) among the first three candidates:

    abbreviation   "r", "av", "bd", "pl", "st" for rue, avenue, boulevard, place, saint
    no accent      "liberte" for "Liberté"
    dropped letter "oberkamf"
    swapped letters "oberkapmf"
    added letter   "libertée"
    no postcode    the town only ("paris")
    no town        the postcode only
    no street type "101 oberkampf paris"
    glued suffix   "12bis", "12b" for 12 bis

Prints the import rate (rows/s), the search time (p50, p95, max; one process,
one query at a time, after a warm-up) and the top-1 and top-3 accuracy, per
mistake too, with a few of the misses. On a shared machine the load average
printed beside them says how much of it the run had, and the CPU time of the
process what the work itself cost (PostgreSQL's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARIS = ROOT.parent / "shared" / "data" / "adresses-75.csv.gz"
TYPES = {
    "rue": "r",
    "avenue": "av",
    "boulevard": "bd",
    "place": "pl",
    "impasse": "imp",
    "passage": "pass",
    "square": "sq",
    "allee": "all",
    "faubourg": "fg",
    "saint": "st",
    "sainte": "ste",
}
MISTAKES = (
    "abbreviation",
    "no accent",
    "dropped letter",
    "swapped letters",
    "added letter",
    "no postcode",
    "no town",
    "no street type",
    "glued suffix",
)
REP_SPELLED = {"b": "bis", "t": "ter", "q": "quater"}


def padded_file(source: Path, rows: int, folder: Path) -> tuple[Path, int]:
    """The source, then copies with house numbers shifted by 1000 per copy, until `rows` rows."""
    target = folder / "adresses-padded.csv"
    written = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        copy = 0
        while True:
            with _open(source) as fh:
                reader = csv.reader(fh, delimiter=";")
                header = next(reader)
                if copy == 0:
                    writer.writerow(header)
                at = {c: header.index(c) for c in ("id", "numero", "nom_voie")}
                for fields in reader:
                    if copy:
                        number = fields[at["numero"]]
                        fields[at["numero"]] = str(int(number) + 1000 * copy)
                        if fields[at["nom_voie"]].startswith(number):  # "11P4 Rue Saint-Blaise" names its number
                            fields[at["nom_voie"]] = fields[at["numero"]] + fields[at["nom_voie"]][len(number) :]
                        fields[at["id"]] = f"{fields[at['id']]}-{copy}"
                    writer.writerow(fields)
                    written += 1
                    if copy and written >= rows:
                        return target, written
            copy += 1
            if written >= rows:
                return target, written


def _open(path: Path):
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return (
        gzip.open(path, "rt", encoding="utf-8", newline="") if compressed else path.open(encoding="utf-8", newline="")
    )


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _typo(word: str, mistake: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    if mistake == "dropped letter":
        return word[:i] + word[i + 1 :]
    if mistake == "swapped letters":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word + "e" if rng.random() < 0.5 else word[:i] + word[i] + word[i:]


def misspell(row: dict, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """The address as someone might type it, with one or two of the mistakes that can apply to it."""
    from app.addresses.text import STREET_TYPES, city_name, fold

    words = row["nom_voie"].split()
    if words and words[0].lower() == (row["numero"] + row["rep"]).lower():
        words = words[1:]  # "11P4 Rue Saint-Blaise" is 11 P4 Rue Saint-Blaise to the people living there
    city = city_name(row["nom_commune"])
    candidates = list(MISTAKES)
    if not row["rep"]:
        candidates.remove("glued suffix")
    if not any(fold(w) in TYPES for w in words):
        candidates.remove("abbreviation")
    if not any(fold(w).lower() in STREET_TYPES for w in words[:1]) or len(words) < 2:
        candidates.remove("no street type")
    long_words = [k for k, w in enumerate(words) if len(w) >= 6 and fold(w).lower() not in STREET_TYPES]
    if not long_words:
        for m in ("dropped letter", "swapped letters", "added letter"):
            candidates.remove(m)
    if row["nom_voie"] == _fold(row["nom_voie"]):
        candidates.remove("no accent")
    chosen = tuple(rng.sample(candidates, k=min(len(candidates), rng.choice((1, 2)))))
    if "no postcode" in chosen and "no town" in chosen:
        chosen = tuple(m for m in chosen if m != "no town")
    typo = next((m for m in chosen if m in ("dropped letter", "swapped letters", "added letter")), None)
    if typo:
        k = rng.choice(long_words)
        words[k] = _typo(words[k], typo, rng)
    if "abbreviation" in chosen:
        words = [TYPES.get(fold(w).lower(), w) for w in words]
    if "no street type" in chosen:
        words = words[1:]
    rep = row["rep"]
    if "glued suffix" in chosen:
        number = row["numero"] + (rep if rng.random() < 0.5 else REP_SPELLED.get(rep, rep))
    else:
        number = f"{row['numero']} {REP_SPELLED.get(rep, rep)}" if rep else row["numero"]
    place = []
    if "no postcode" not in chosen:
        place.append(row["code_postal"])
    if "no town" not in chosen:
        place.append(city)
    query = " ".join([number, *words, *place])
    if "no accent" in chosen:
        query = _fold(query).lower()
    return query, chosen


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=PARIS, help="a BAN export (default: Paris from ../shared/data)")
    parser.add_argument("--rows", type=int, default=500_000, help="pad the file to this many rows (0: as it is)")
    parser.add_argument("--queries", type=int, default=1000, help="size of the evaluation set")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgresql", metavar="URL", help="run on this PostgreSQL database (its schema is replaced)")
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"{args.file} introuvable: give a BAN export with --file")

    folder = Path(tempfile.mkdtemp(prefix="voisinage-bench-addresses-"))
    os.environ["VOISINAGE_DATA_DIR"] = str(folder)
    os.environ["PICCOLO_CONF"] = "app.piccolo_conf"
    if args.postgresql:
        os.environ["DATABASE_URL"] = args.postgresql
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from app.addresses.importer import ProgressBar, import_file
    from app.addresses.search import search
    from app.addresses.tables import AddressWay
    from app.migrating import migrate
    from app.piccolo_conf import DB

    if args.rows:
        print(f"Building {args.rows:,} rows from {args.file.name}…", file=sys.stderr)
        source, total = padded_file(args.file, args.rows, folder)
    else:
        source, _total = args.file, None
    if args.postgresql:
        await DB._run_in_new_connection("DROP SCHEMA public CASCADE")
        await DB._run_in_new_connection("CREATE SCHEMA public")
    # An import of millions of rows: no statement timeout (app.db.postgres).
    await DB.start_connection_pool(bounded=False)
    try:
        await migrate(quiet=True)
        load_before = os.getloadavg()[0]
        cpu = time.process_time()
        report = await import_file(source, ProgressBar("Import"))
        import_cpu = time.process_time() - cpu
        ways = await AddressWay.count()

        rng = random.Random(args.seed)
        with _open(args.file) as fh:
            real = list(csv.DictReader(fh, delimiter=";"))
        evaluation = []
        for row in rng.sample(real, k=min(args.queries, len(real))):
            query, mistakes = misspell(row, rng)
            evaluation.append((query, mistakes, row["id"]))
        del real

        for query, _, _ in evaluation[:50]:  # warm-up: caches, connections, the index pages
            await search(query)
        timings, cpu_timings, top1, top3 = [], [], 0, 0
        per_mistake, per_mistake_ok = Counter(), Counter()
        misses = []
        for query, mistakes, ban_id in evaluation:
            started, cpu = time.perf_counter(), time.process_time()
            found = await search(query, limit=5)
            timings.append((time.perf_counter() - started) * 1000)
            cpu_timings.append((time.process_time() - cpu) * 1000)
            ids = [f.ban_id for f in found]
            top1 += ids[:1] == [ban_id]
            ok = ban_id in ids[:3]
            top3 += ok
            for m in mistakes:
                per_mistake[m] += 1
                per_mistake_ok[m] += ok
            if not ok:
                misses.append((query, ban_id, [f.label for f in found[:3]]))
    finally:
        await DB.close_connection_pool()

    n = len(evaluation)
    timings.sort()
    cpu_timings.sort()
    engine = "PostgreSQL" if args.postgresql else "SQLite"
    # The machine may be shared: the load says how much of it this run had, CPU time what the work cost.
    print(f"\n{engine}, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs")
    print(
        f"import: {report.rows:,} rows ({ways:,} streets) in {report.seconds:.1f} s: "
        f"{report.rows_per_second:,.0f} rows/s ({report.rows / import_cpu:,.0f} rows per CPU second of this process)"
    )
    print(
        f"search, {n} queries one at a time: p50 {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(0.95 * (n - 1))]:.1f} ms, max {timings[-1]:.1f} ms; CPU time of this process "
        f"p50 {statistics.median(cpu_timings):.1f} ms, p95 {cpu_timings[int(0.95 * (n - 1))]:.1f} ms"
    )
    print(f"right address first: {top1 / n:.1%}; among the first three: {top3 / n:.1%}")
    for m in MISTAKES:
        if per_mistake[m]:
            print(f"  {m:16} {per_mistake_ok[m] / per_mistake[m]:6.1%} of {per_mistake[m]}")
    for query, ban_id, labels in misses[:15]:
        print(f"  missed {query!r} ({ban_id}): {labels}")


if __name__ == "__main__":
    asyncio.run(main())
