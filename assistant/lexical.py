"""The lexical index: BM25 over every chunk (its document's title, then its text) in an
SQLite FTS5 table inside the document store, written in the same transactions as the
chunk rows, so that it can never disagree with them after a crash.

The table is contentless (the text already lives in ``documents``): a row is deleted by
giving FTS5 the exact text it indexed, and one query (``BODIES``) feeds both insertion and
deletion. Words found in more than ``COMMON_SHARE`` of all chunks are left out of a query,
and so are the commonest ones beyond ``POSTINGS_BUDGET``: they barely move BM25 but cost
the most, since FTS5 scores every chunk that holds a query word.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterable

from assistant.types import Filters

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    body, content='', tokenize='porter unicode61 remove_diacritics 2');
"""
LAYOUT = "fts5-1"  # recorded in `info`; another value means: rebuild the index
BODIES = ("SELECT c.rowid, d.title || char(10) || substr(d.text, c.start + 1, "
          'c."end" - c.start) FROM chunks c JOIN documents d ON d.id = c.doc_id')
# Measured by benchmarks/lexical_bench.py on RealTime QA (225 questions, 23,351 chunks):
# see the README's scale section. 1.0 would keep every word.
COMMON_SHARE = 0.1
# The most postings (chunk entries of the kept words, rarest first) a query reads, so
# that its cost stops growing with the collection (at 23k chunks, 10,000 kept every
# Hit@4 of no budget; 5,000 lost one question).
POSTINGS_BUDGET = 10_000
_TOKENIZER = "tokenize='porter unicode61 remove_diacritics 2'"


def index(db: sqlite3.Connection, doc_id: str) -> None:
    db.execute(f"INSERT INTO chunk_fts(rowid, body) {BODIES} WHERE c.doc_id=?", (doc_id,))


def unindex(db: sqlite3.Connection, doc_id: str) -> None:
    db.execute("INSERT INTO chunk_fts(chunk_fts, rowid, body) SELECT 'delete', * FROM "
               f"({BODIES} WHERE c.doc_id=?)", (doc_id,))


def rebuild(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO chunk_fts(chunk_fts) VALUES('delete-all')")
    db.execute(f"INSERT INTO chunk_fts(rowid, body) {BODIES}")


def problem(db: sqlite3.Connection) -> str | None:
    """How the index disagrees with the chunk rows, or None."""
    indexed = {r[0] for r in db.execute("SELECT rowid FROM chunk_fts")}
    rows = {r[0] for r in db.execute("SELECT rowid FROM chunks")}
    if indexed == rows:
        return None
    return (f"{len(indexed - rows)} entries without a chunk row, "
            f"{len(rows - indexed)} chunk rows missing")


def stems(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """Each word as the index's tokenizer stores it (Porter stem, folded)."""
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_fts USING fts5(body, "
               f"{_TOKENIZER})")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING "
               "fts5vocab(temp, query_fts, 'instance')")
    db.execute("DELETE FROM temp.query_fts")
    db.executemany("INSERT INTO temp.query_fts(rowid, body) VALUES (?, ?)",
                   list(enumerate(words)))
    out = [""] * len(words)
    for term, row in db.execute("SELECT term, doc FROM temp.query_terms"):
        out[row] = out[row] or term
    return out


def telling(db: sqlite3.Connection, words: list[str], chunks: int) -> list[str]:
    """The words worth looking up, rarest first: those in at most COMMON_SHARE of the
    chunks, while their postings fit POSTINGS_BUDGET (the rarest word always)."""
    if not words:
        return []
    stemmed = stems(db, words)
    df = frequencies(db, stemmed, chunks)
    return worth_looking_up([(df[s], w) for w, s in zip(words, stemmed) if df.get(s)],
                            chunks)


def worth_looking_up(found: list[tuple[int, str]], chunks: int) -> list[str]:
    """Of (chunks holding it, word) pairs, the words a query reads, rarest first: those in
    at most COMMON_SHARE of the chunks, while their postings fit POSTINGS_BUDGET (the
    rarest word always). Every lexical index applies this one rule."""
    keep: list[str] = []
    read = 0
    for n, w in sorted(found):  # rarest first
        if keep and (n > COMMON_SHARE * chunks or read + n > POSTINGS_BUDGET):
            break
        keep.append(w)
        read += n
    return keep


# (database file, stem) -> (chunks when counted, chunks holding it). FTS5 counts a word's
# chunks by reading all of them, as costly as searching it (90 ms of a 120 ms query at 1M
# chunks), so the counts of common words are kept until the collection grows or shrinks
# by a tenth; rare words are cheap to count and always counted afresh.
_COUNTS: dict[tuple[str, str], tuple[int, int]] = {}
_KEEP_COUNTS_FROM = 1000


def frequencies(db: sqlite3.Connection, stemmed: list[str], chunks: int) -> dict[str, int]:
    """stem -> the number of chunks holding it (absent stems are left out)."""
    def count(wanted: list[str]) -> list[tuple[str, int]]:
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_terms USING "
                   "fts5vocab(main, chunk_fts, 'row')")
        q = ",".join("?" * len(wanted))
        return db.execute(f"SELECT term, doc FROM temp.chunk_terms WHERE term IN ({q})",
                          wanted).fetchall()

    return counted(db.execute("PRAGMA database_list").fetchone()[2], stemmed, chunks, count)


def counted(where: str, terms: list[str], chunks: int,
            count: Callable[[list[str]], Iterable[tuple[str, int]]]) -> dict[str, int]:
    """term -> chunks holding it, from ``_COUNTS`` where still fresh, else by ``count``
    (the index's own way); every lexical index keeps its counts by this one rule."""
    out: dict[str, int] = {}
    for s in terms:
        known = _COUNTS.get((where, s))
        if known and abs(known[0] - chunks) <= 0.1 * chunks:
            out[s] = known[1]
    wanted = [s for s in terms if s not in out]
    for term, n in count(wanted) if wanted else ():
        if n:
            out[term] = n
        if n >= _KEEP_COUNTS_FROM:
            if len(_COUNTS) > 100_000:
                _COUNTS.clear()
            _COUNTS[(where, term)] = (chunks, n)
    return out


def search(db: sqlite3.Connection, words: list[str], n: int, chunks: int,
           filters: Filters | None = None) -> list[tuple[str, float]]:
    """(chunk id, BM25 score) of the n best chunks holding any of ``words``, higher is
    better, within ``filters``. A filtered search first ranks 4n chunks and keeps those
    that pass (most do, for an as-of date); only when fewer than n pass does it filter
    every matching chunk."""
    words = telling(db, words, chunks)
    if not words:
        return []
    match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    ranked = ("SELECT rowid AS r, bm25(chunk_fts) AS s FROM chunk_fts WHERE chunk_fts "
              "MATCH ? ORDER BY s LIMIT ?")
    if filters is None or filters.empty:
        return list(db.execute(f"SELECT c.id, -s FROM ({ranked}) JOIN chunks c ON "
                               "c.rowid = r ORDER BY s", (match, n)))
    lo, hi = filters.days()
    passes = ("JOIN documents d ON d.id = c.doc_id WHERE coalesce(CAST(replace("
              "d.published, '-', '') AS INTEGER), 0) BETWEEN ? AND ? AND substr(d.uri, 1, "
              "length(?)) = ? ")
    prefix = filters.uri or ""
    for limit in (4 * n, -1):  # -1: every matching chunk
        found = list(db.execute(
            f"SELECT c.id, -s FROM ({ranked}) JOIN chunks c ON c.rowid = r {passes}"
            "ORDER BY s LIMIT ?", (match, limit, lo, hi, prefix, prefix, n)))
        if len(found) >= n or limit == -1:
            return found
    raise AssertionError("unreachable")
