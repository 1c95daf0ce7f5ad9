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
from typing import Any

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
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_terms USING "
               "fts5vocab(main, chunk_fts, 'row')")
    stemmed = stems(db, words)
    q = ",".join("?" * len(stemmed))
    df = dict(db.execute(f"SELECT term, doc FROM temp.chunk_terms WHERE term IN ({q})",
                         stemmed))
    found = sorted((df[s], w) for w, s in zip(words, stemmed) if df.get(s))
    keep: list[str] = []
    read = 0
    for n, w in found:  # rarest first
        if keep and (n > COMMON_SHARE * chunks or read + n > POSTINGS_BUDGET):
            break
        keep.append(w)
        read += n
    return keep


def search(db: sqlite3.Connection, words: list[str], n: int, chunks: int,
           filters: Filters | None = None) -> list[tuple[str, float]]:
    """(chunk id, BM25 score) of the n best chunks holding any of ``words``, higher is
    better, within ``filters``."""
    words = telling(db, words, chunks)
    if not words:
        return []
    match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    sql = ("SELECT c.id, -bm25(chunk_fts) FROM chunk_fts JOIN chunks c "
           "ON c.rowid = chunk_fts.rowid ")
    args: list[Any] = [match]
    if filters is not None and not filters.empty:
        lo, hi = filters.days()
        sql += ("JOIN documents d ON d.id = c.doc_id WHERE chunk_fts MATCH ? AND "
                "coalesce(CAST(replace(d.published, '-', '') AS INTEGER), 0) "
                "BETWEEN ? AND ? ")
        args += [lo, hi]
        if filters.uri:
            sql += "AND substr(d.uri, 1, length(?)) = ? "
            args += [filters.uri, filters.uri]
    else:
        sql += "WHERE chunk_fts MATCH ? "
    return list(db.execute(sql + "ORDER BY bm25(chunk_fts) LIMIT ?", [*args, n]))
