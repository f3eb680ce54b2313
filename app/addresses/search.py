"""Address search that forgives: "12 r de la libertee 21000" finds 12 Rue de la Liberté, Dijon.

Three steps. The words: each word typed is checked against the words of the
imported names; one that is not there is replaced by those of the names one
mistake away (a letter dropped, doubled, swapped, replaced), found through the
forms with one letter less they share (the "symmetric delete" of spelling
correctors). The streets: the database's trigram index (SQLite
FTS5 `trigram`, PostgreSQL `pg_trgm`) picks a few dozen streets holding those
words (or, for a word still unknown, sharing letter triples with it); rapidfuzz
then scores each street word by word (Damerau-Levenshtein: a swap is one
mistake) for how much of its name the query covers and how much of the query
the street and its town explain. The house number: an exact lookup in the best
streets, its suffix (bis, ter, the letters Paris uses) preferred when typed,
else the nearest number of the street.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from app.addresses import text
from app.addresses.tables import Address

WAYS = 40  # streets taken from the trigram index
WAYS_IN_POSTCODE = 20  # and as many again inside the typed postcode, when one is typed
NUMBERED = 10  # best streets whose house numbers are looked up
# A best street scoring less leaves a doubt worth a second, wider look.
CONFIDENT = 0.9
# Below this share a word is a different word, not a typo ("mars" is not "maur").
WORD_SIMILARITY = 0.7
# pg_trgm's cut-off for the candidate streets; the scoring below decides.
PG_SIMILARITY = 0.15


@dataclass(frozen=True)
class Found:
    label: str  # "12 bis Rue Monge, 75005 Paris"
    lat: float
    lon: float
    postcode: str
    city: str
    score: float
    ban_id: str = ""


@dataclass(frozen=True)
class _Way:
    id: int
    name: str
    postcode: str
    city: str
    search: str
    score: float = 0.0


async def search(query: str, limit: int = 5) -> list[Found]:
    if len(query.strip()) < 3:
        return []
    parsed = text.parse_query(query[:200])
    words = list(dict.fromkeys(parsed.words))
    # The street's type leads ("rue", "bd"): every other street shares it. Later, it is a name ("rue de la plaine").
    probe = [w for i, w in enumerate(words) if len(w) >= 3 and not (i == 0 and w in text.STREET_TYPES)]
    if not probe and any(w.isdigit() for w in words):
        # "3 voie d/5": a street whose only long word is its type ("12 rue de la li" is still being typed).
        probe = [w for w in words if len(w) >= 3]
    if not probe:
        return []
    known, neighbours = await _vocabulary(probe)
    ways = await _ways(_spelt(probe, known, neighbours, widely=False), parsed)
    if not ways or max(w.score for w in ways) < CONFIDENT:
        # A typo may have made another real word ("lefevre" for Lefebvre): its neighbours too, then.
        ways = list(
            {w.id: w for w in [*ways, *await _ways(_spelt(probe, known, neighbours, widely=True), parsed)]}.values()
        )
    ways.sort(key=lambda w: (-w.score, w.name, w.postcode))
    ways = ways[:NUMBERED]
    if not ways:
        return []
    found = await (_numbered(ways, parsed) if parsed.number is not None else _streets(ways))
    found.sort(key=lambda f: (-f.score, f.label))
    unique = {f.label: f for f in reversed(found)}  # the best-scored of a repeated label wins
    return sorted(unique.values(), key=lambda f: (-f.score, f.label))[:limit]


async def _ways(spelt: dict[str, list[str]], parsed: text.Query) -> list[_Way]:
    """Streets holding every word first (an intersection of short lists: cheap however common "paris" is);
    when none fits, streets holding any of them or sharing letter triples with them."""
    for strict in (True, False):
        candidates = await _candidate_ways(spelt, parsed.postcode, strict)
        ways = [w for w in (_score(way, parsed) for way in candidates) if w.score > 0]
        if ways:
            return ways
    return []


# Words ---------------------------------------------------------------------------------------------


def _engine():
    return Address._meta.db


async def _vocabulary(probe: list[str]) -> tuple[set[str], dict[str, list[str]]]:
    """Which words the names hold, and for each word those of the names one mistake away: one look-up
    of the words' forms (see text.forms), then Damerau-Levenshtein to keep the true neighbours."""
    forms = sorted(set().union(*(text.forms(w) for w in probe)))
    if _engine().engine_type == "sqlite":
        rows = await Address.raw(
            "SELECT form, word FROM address_word WHERE form IN (SELECT value FROM json_each({}))", json.dumps(forms)
        )
    else:
        rows = await Address.raw("SELECT form, word FROM address_word WHERE form = ANY({}::text[])", forms)
    found = {r["word"] for r in rows}
    known = {w for w in probe if w in found}
    neighbours = {w: sorted(c for c in found if c != w and DamerauLevenshtein.distance(w, c) <= 1) for w in probe}
    return known, neighbours


def _spelt(probe: list[str], known: set[str], neighbours: dict[str, list[str]], widely: bool) -> dict[str, list[str]]:
    """Each word as typed when the names hold it, else its neighbours (maybe none); `widely`: both."""
    return {w: ([w, *neighbours[w]] if widely else [w]) if w in known else neighbours[w] for w in probe}


# Candidate streets -------------------------------------------------------------------------------


async def _candidate_ways(spelt: dict[str, list[str]], postcode: str | None, strict: bool) -> list[_Way]:
    groups = _groups(spelt, strict)
    if not groups:
        return []
    if _engine().engine_type == "sqlite":
        rows = await _sqlite_ways(groups, postcode, strict)
    else:
        rows = await _postgres_ways(groups, spelt, postcode, strict)
    return list({r["id"]: _Way(r["id"], r["name"], r["postcode"], r["city"], r["search"]) for r in rows}.values())


def _groups(spelt: dict[str, list[str]], strict: bool) -> list[list[str]]:
    """What a street must hold: one of each group's words (strict), or any word of any group."""
    last = list(spelt)[-1]
    groups = []
    for typed, words in spelt.items():
        if typed == last and typed not in words:
            words = [*words, typed]  # still being typed: "darc" is inside "darcy"
        if not words and not strict:
            # A word no name holds, even one mistake away: any letter triple it shares brings a street in.
            words = _triples(typed)
        if words:
            groups.append(words)
    return groups


async def _sqlite_ways(groups: list[list[str]], postcode: str | None, strict: bool) -> list[dict]:
    # Trigram phrases match inside words; ranked by BM25, rare words weigh more than "paris".
    if strict:
        match = " AND ".join("(" + " OR ".join(f'"{w}"' for w in group) + ")" for group in groups)
    else:
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(w for group in groups for w in group))
    sql = (
        "SELECT w.id, w.name, w.postcode, w.city, w.search FROM address_way_fts "
        "JOIN address_way w ON w.id = address_way_fts.rowid WHERE address_way_fts MATCH {}"
    )
    rows = await Address.raw(sql + " ORDER BY address_way_fts.rank LIMIT {}", match, WAYS)
    if postcode and len(rows) == WAYS:
        rows += await Address.raw(
            sql + " AND w.postcode = {} ORDER BY address_way_fts.rank LIMIT {}", match, postcode, WAYS_IN_POSTCODE
        )
    return rows


async def _postgres_ways(
    groups: list[list[str]], spelt: dict[str, list[str]], postcode: str | None, strict: bool
) -> list[dict]:
    words = " ".join(" ".join(corrected or [typed]) for typed, corrected in spelt.items())
    args: list = [words, WAYS]
    if strict:
        # LIKE '%word%' is answered by the same trigram index, as an intersection.
        where = []
        for group in groups:
            where.append("(" + " OR ".join(f"search LIKE ${len(args) + i + 1}" for i in range(len(group))) + ")")
            args += [f"%{w}%" for w in group]
        where = " AND ".join(where)
    else:
        where = "search % $1"
    sql = f"SELECT id, name, postcode, city, search FROM address_way WHERE {where}"
    order = " ORDER BY similarity(search, $1) DESC LIMIT $2"
    async with _engine().pool.acquire() as connection:  # noqa: SIM117 - the inner block needs this connection
        # The threshold is set per transaction: only the wide search needs one (and its round trips).
        async with contextlib.nullcontext() if strict else connection.transaction():
            if not strict:
                # `%` compares to a per-transaction threshold: lower than the default 0.3, so one
                # typo in a short name still brings its street in.
                await connection.execute(f"SET LOCAL pg_trgm.similarity_threshold = {PG_SIMILARITY}")
            rows = [dict(r) for r in await connection.fetch(sql + order, *args)]
            if postcode and len(rows) == WAYS:
                rows += [
                    dict(r)
                    for r in await connection.fetch(sql + f" AND postcode = ${len(args) + 1}" + order, *args, postcode)
                ]
    return rows


# Scoring -------------------------------------------------------------------------------------------


def _similar(typed: str, word: str, last: bool) -> float:
    if typed == word:
        return 1.0
    if typed.isdigit() or word.isdigit():
        return 0.0
    if last and len(typed) >= 3 and word.startswith(typed):
        return 0.9  # still being typed: "place darc"
    if min(len(typed), len(word)) < 4:
        return 0.0
    similarity = DamerauLevenshtein.normalized_similarity(typed, word)
    return similarity if similarity >= WORD_SIMILARITY else 0.0


def _score(way: _Way, query: text.Query) -> _Way:
    """How much of the street's name the query covers, and how much of the query the street and town explain."""
    typed = query.words
    last = len(typed) - 1
    name_words = text.words(way.name)
    everything = way.search.split()
    explained = sum(max((_similar(t, w, i == last) for w in everything), default=0.0) for i, t in enumerate(typed))
    names = text.distinctive(name_words)
    covered = sum(max(_similar(t, n, i == last) for i, t in enumerate(typed)) for n in names)
    name_share, query_share = covered / len(names), explained / len(typed)
    if name_share < 0.5 or query_share < 0.5:
        return way
    score = 0.55 * name_share + 0.45 * query_share
    if query.postcode:
        if query.postcode == way.postcode:
            score += 0.1
        elif query.postcode[:2] != way.postcode[:2]:
            score -= 0.15
    return _Way(way.id, way.name, way.postcode, way.city, way.search, score)


# House numbers ------------------------------------------------------------------------------------


def _label(way: _Way, number: int | None = None, rep: str = "") -> str:
    where = f"{way.postcode} {way.city}"
    return f"{text.house_number(number, rep)} {way.name}, {where}" if number is not None else f"{way.name}, {where}"


def _in(ids: list[int]) -> str:
    return ", ".join("{}" for _ in ids)


async def _numbered(ways: list[_Way], query: text.Query) -> list[Found]:
    by_id = {w.id: w for w in ways}
    ids = list(by_id)
    rows = await Address.raw(
        f"SELECT way, number, rep, lon, lat, ban_id FROM address WHERE way IN ({_in(ids)}) AND number = {{}}",
        *ids,
        query.number,
    )
    found = []
    for r in rows:
        bonus = 0.1 if r["rep"] == query.rep else 0.05 if not query.rep else 0.04
        found.append(_found(by_id[r["way"]], r, bonus))
    missing = [w for w in ways[:3] if w.id not in {r["way"] for r in rows}]
    if missing:
        found += await _nearest(missing, query.number)
    return found


async def _nearest(ways: list[_Way], number: int) -> list[Found]:
    """A number the file does not hold: the nearest one of each street, under its own number, less surely."""
    by_id = {w.id: w for w in ways}
    rows = await Address.raw(
        "SELECT * FROM (SELECT way, number, rep, lon, lat, ban_id, row_number() OVER "
        "(PARTITION BY way ORDER BY abs(number - {}), rep) AS nearness "
        f"FROM address WHERE way IN ({_in(list(by_id))})) AS numbered WHERE nearness = 1",
        number,
        *by_id,
    )
    return [_found(by_id[r["way"]], r, -0.1) for r in rows]


async def _streets(ways: list[_Way]) -> list[Found]:
    """No number typed: the street itself, at the middle of its addresses."""
    ids = [w.id for w in ways]
    rows = await Address.raw(
        f"SELECT way, avg(lat) AS lat, avg(lon) AS lon FROM address WHERE way IN ({_in(ids)}) GROUP BY way", *ids
    )
    points = {r["way"]: (r["lat"], r["lon"]) for r in rows}
    return [
        Found(_label(w), round(points[w.id][0], 6), round(points[w.id][1], 6), w.postcode, w.city, round(w.score, 3))
        for w in ways
        if w.id in points
    ]


def _found(way: _Way, row: dict, bonus: float) -> Found:
    return Found(
        _label(way, row["number"], row["rep"]),
        row["lat"],
        row["lon"],
        way.postcode,
        way.city,
        round(way.score + bonus, 3),
        row["ban_id"],
    )


# Suggestions ---------------------------------------------------------------------------------------

SUGGESTED = 3
# The share of a street's name the typed words must sound or look like to be offered.
SUGGESTION_FLOOR = 0.65


async def suggest(query: str, limit: int = SUGGESTED) -> list[Found]:
    """For what `search` finds nothing: the streets whose name sounds or looks
    like the typed words ("6 rue de la rocket paris": Rue de la Roquette), to
    be offered as « Vouliez-vous dire … ». Words the names hold (the town) bring
    their streets in, the others their letter triples and those of their sound."""
    parsed = text.parse_query(query[:200])
    probe = [w for w in dict.fromkeys(parsed.words) if len(w) >= 3 and not w.isdigit() and w not in text.STREET_TYPES]
    if not probe:
        return []
    known, _neighbours = await _vocabulary(probe)
    heard = {w: [w, text.sound(w)] for w in probe}
    groups = [[w] if w in known else sorted({t for h in heard[w] for t in _triples(h)}) for w in probe]
    if _engine().engine_type == "sqlite":
        rows = await _sqlite_ways(groups, parsed.postcode, strict=False)
    else:
        rows = await _postgres_ways(groups, heard, parsed.postcode, strict=False)
    heard_ways = [_heard(_Way(r["id"], r["name"], r["postcode"], r["city"], r["search"]), parsed) for r in rows]
    ways = sorted((w for w in heard_ways if w is not None), key=lambda w: (-w.score, w.name))[:limit]
    if not ways:
        return []
    found = await (_numbered(ways, parsed) if parsed.number is not None else _streets(ways))
    unique = {f.label: f for f in sorted(found, key=lambda f: f.score)}
    return sorted(unique.values(), key=lambda f: (-f.score, f.label))[:limit]


def _heard(way: _Way, query: text.Query) -> _Way | None:
    """How much of the street's name the typed words look or sound like (None: too little); its town
    typed adds to it."""
    typed = [w for w in query.words if not w.isdigit()]
    names = text.distinctive(text.words(way.name))

    def alike(t: str, n: str) -> float:
        return max(
            DamerauLevenshtein.normalized_similarity(t, n),
            DamerauLevenshtein.normalized_similarity(text.sound(t), text.sound(n)),
        )

    name_share = sum(max((alike(t, n) for t in typed), default=0.0) for n in names) / len(names)
    if name_share < SUGGESTION_FLOOR:
        return None
    town = set(text.words(way.city)) | {way.postcode}
    in_town = query.postcode == way.postcode or any(t in town for t in typed)
    return _Way(way.id, way.name, way.postcode, way.city, way.search, name_share + (0.1 if in_town else 0.0))


def _triples(word: str) -> list[str]:
    return [word[i : i + 3] for i in range(len(word) - 2)]
