"""French full-text search: the words of a post and of a query made alike.

"perceuses", "Perçeuse" and "perceuse" must find the same annonces. Both
sides go through the same steps: lower case, accents off (as PostgreSQL's
`unaccent` does), then Snowball's French stemmer. On SQLite the FTS5 index
stores these stems (the triggers call `index_text` through the SQL function
`voisinage_stems`, which app/piccolo_conf.py gives the engine); PostgreSQL
does the same with its `french` configuration over `unaccent`.

Results are highlighted here in Python for both engines: every piece of the
text is HTML-escaped and only the `<mark>` tags are ours, so a post cannot
smuggle markup through its own highlight.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer
from markupsafe import Markup, escape

MAX_WORDS = 8
EXCERPT = 220

# Letters and digits; not "_", which \w allows and to_tsquery would choke on.
_WORD = re.compile(r"[^\W_]+")
# Snowball's French stop list (the one PostgreSQL's `french` configuration
# drops): a query for "vélo pour enfant" must not require "pour".
STOPWORDS = frozenset(
    """
au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me même mes moi mon ne nos notre nous
on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l à m n s t y été
étée étées étés étant étante étants étantes suis es est sommes êtes sont serai seras sera serons serez seront serais
serait serions seriez seraient étais était étions étiez étaient fus fut fûmes fûtes furent sois soit soyons soyez
soient fusse fusses fût fussions fussiez fussent ayant ayante ayantes ayants eu eue eues eus ai as avons avez ont
aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient avais avait avions aviez avaient eut
eûmes eûtes eurent aie aies ait ayons ayez aient eusse eusses eût eussions eussiez eussent
""".split()
)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # A Stemmer object is not safe to share between threads, and SQLite calls
    # the index function from the connection's own thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("french")
    return stemmer


def fold(word: str) -> str:
    """Lower case without accents: "Perçeuse" -> "perceuse"."""
    word = unicodedata.normalize("NFKD", word.lower().translate(_LIGATURES))
    return "".join(c for c in word if not unicodedata.combining(c))


def index_text(text: str | None) -> str:
    """What the SQLite index stores for a title or a body: its stems, in order."""
    if not text:
        return ""
    return " ".join(_stemmer().stemWords([fold(w) for w in _WORD.findall(text)]))


def query_words(q: str) -> list[str]:
    """The query's words, folded, without the stop words (unless that leaves none)."""
    words = _WORD.findall(q)[:MAX_WORDS]
    meaningful = [w for w in words if w.lower() not in STOPWORDS]
    return [fold(w) for w in (meaningful or words)]


def query_stems(q: str) -> list[str]:
    return list(dict.fromkeys(_stemmer().stemWords(query_words(q))))


def fts_match(stems: list[str], column: str | None = None) -> str:
    """An FTS5 expression: every stem required, each as a word beginning.
    Stems are \\w+ only and quoted, so no FTS5 syntax from the user reaches
    the parser."""
    expression = " AND ".join(f'"{s}"*' for s in stems)
    return f"{column} : ({expression})" if column else f"({expression})"


def tsquery(q: str, weight: str = "") -> str:
    """The to_tsquery text for PostgreSQL, which stems it itself; `weight` "A"
    keeps only title words (the index gives titles weight A, bodies B)."""
    return " & ".join(f"{w}:*{weight}" for w in query_words(q))


def _matches(stems: list[str]):
    stemmer = _stemmer()

    def match(word: str) -> bool:
        folded = fold(word)
        stem = stemmer.stemWord(folded)
        return any(stem.startswith(s) or folded.startswith(s) for s in stems)

    return match


def highlight(text: str, stems: list[str]) -> Markup:
    """The text, escaped, with the words the query found inside <mark>."""
    match = _matches(stems)
    out, last = [], 0
    for found in _WORD.finditer(text):
        if match(found.group()):
            out.append(escape(text[last : found.start()]))
            out.append(Markup("<mark>%s</mark>") % found.group())
            last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def excerpt(body: str, stems: list[str], size: int = EXCERPT) -> Markup:
    """A piece of the body around its first match (its start when the match
    is in the title only), highlighted, with an ellipsis where it is cut."""
    match = _matches(stems)
    start = 0
    for found in _WORD.finditer(body):
        if match(found.group()):
            # A little context before the word, from the start of a word.
            start = max(0, found.start() - size // 4)
            if start:
                space = body.find(" ", start)
                start = space + 1 if 0 <= space < found.start() else found.start()
            break
    piece = body[start : start + size]
    shown = highlight(piece, stems)
    before = Markup("… ") if start else Markup("")
    after = Markup("…") if start + size < len(body) else Markup("")
    return before + shown + after
