"""The lexical index of a PostgreSQL store (``pgstore``): BM25 over stored term statistics,
written in the same transaction as the chunk rows.

Each chunk row keeps a ``tsvector`` of its document's title and its text (PostgreSQL's
English stemmer: the words are PostgreSQL's own). From it, ``postings`` holds one row per
(lexeme, chunk) with the lexeme's frequency in the chunk and the chunk's length (distinct
lexemes); ``info`` keeps the totals. A word's chunk count is its postings counted through
the primary key (lexeme first; common words' counts kept by ``lexical.counted``, the
SQLite index's rule), and a query reads only the postings of the words it keeps, as FTS5
reads its doclists: the same BM25 as FTS5's ``bm25()`` (k1 1.2, b 0.75), the same rule for
which words a query reads (``lexical.worth_looking_up``: no common words, a postings
budget), the date and URI filters in its WHERE clause.

Measured against the first design (a GIN index over the ``tsvector``, tf from
``ts_rank_cd``, df by counting matches): at 100k chunks a query spent 27 ms there (the
ranking function ran on every matching row; a count per new word read every match), 11 ms
with postings keyed by (lexeme, chunk) alone, where each posting read one table page
(2,765 pages for 2,841 postings), and 3 ms with tf, len and doc_id in the key (index-only,
921 pages, sums in float8); see the README's Scale section.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from assistant.lexical import counted, worth_looking_up
from assistant.types import Filters

LAYOUT = "postings-english-5"  # recorded in `info`; another value means: rebuild the index
BODY = ("to_tsvector('english', d.title || E'\\n' || substr(d.text, c.start + 1, "
        'c."end" - c.start))')
K1, B = 1.2, 0.75  # BM25's usual constants, as FTS5's bm25()
Run = Callable[..., list[tuple[Any, ...]]]  # PgDocStore._run: one statement, its rows
# The key carries tf, len and doc_id, so that a query, filtered by date or not, reads a
# word's postings from the index alone (an index-only scan: a few pages a word, where the
# table's rows lie one to a page; at 100k chunks a filtered query 32 ms before, 6 ms); the
# visibility map that allows it is kept by autovacuum, asked to come after 1% more rows.
POSTINGS = """
CREATE TABLE IF NOT EXISTS postings (
    lexeme TEXT COLLATE "C" NOT NULL, chunk_id TEXT COLLATE "C" NOT NULL,
    doc_id TEXT NOT NULL, tf INTEGER NOT NULL, len INTEGER NOT NULL,
    PRIMARY KEY (lexeme, chunk_id) INCLUDE (tf, len, doc_id))
    WITH (autovacuum_vacuum_insert_scale_factor = 0.01);
"""
TABLES = POSTINGS + "DROP INDEX IF EXISTS chunks_body;"
_POST = ("INSERT INTO postings SELECT u.lexeme, c.id, c.doc_id, cardinality(u.positions), "
         "length(c.body) FROM chunks c, unnest(c.body) u")


def index(cur: Any, doc_ids: list[str]) -> int:
    """Post the chunks of ``doc_ids`` (their ``body`` written); the postings added. In key
    order: the B-tree takes a batch's postings sorted at about half the cost of one
    document's at a time (at 100k chunks, 2.5-3.2 against 4.7-5.5 ms a document)."""
    cur.execute(_POST + " WHERE c.doc_id = ANY(%s) ORDER BY 1, 2", (doc_ids,))
    return int(cur.rowcount)


def unindex(cur: Any, doc_ids: list[str]) -> int:
    """Remove the postings of ``doc_ids`` (before their chunks go); the postings removed."""
    cur.execute("DELETE FROM postings p USING chunks c, unnest(c.body) u WHERE c.doc_id = "
                "ANY(%s) AND p.lexeme = u.lexeme AND p.chunk_id = c.id", (doc_ids,))  # by key
    return int(cur.rowcount)


def rebuild(cur: Any) -> None:
    """Every chunk's ``body`` and postings again, and the totals."""
    cur.execute(f"UPDATE chunks c SET body = {BODY} FROM documents d WHERE d.id = c.doc_id")
    cur.execute("DROP TABLE IF EXISTS postings")  # its layout may be an older one
    cur.execute(POSTINGS)
    cur.execute(_POST)
    cur.execute("INSERT INTO info SELECT k, v::text FROM (VALUES ('documents', (SELECT "
                "COUNT(*) FROM documents)), ('chunks', (SELECT COUNT(*) FROM chunks)), "
                "('lexemes', (SELECT COUNT(*) FROM postings))) AS t(k, v) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")


def search(run: Run, key: str, words: list[str], n: int, chunks: int, mean: float,
           filters: Filters) -> list[tuple[str, float]]:
    """(chunk id, BM25 score) of the n best chunks holding any of ``words``, higher is
    better, within ``filters``; ``chunks`` and ``mean`` (lexemes per chunk) as counted;
    ``key`` names the collection for the cache of word counts."""
    if not words or not chunks:
        return []
    lexemes = stems(run, words)
    wanted = sorted({x for x in lexemes if x})
    df = counted(key, wanted, chunks, lambda some: run(  # type: ignore[arg-type,return-value]
        "SELECT x, (SELECT COUNT(*) FROM postings WHERE lexeme = x) FROM unnest(%s::text[]) "
        "AS t(x)", (some,)))
    kept = worth_looking_up([(df[x], x) for x in dict.fromkeys(lexemes) if df.get(x)],
                            chunks)
    if not kept:
        return []
    idf = [math.log(1 + (chunks - df[x] + 0.5) / (df[x] + 0.5)) for x in kept]
    where, args = ("", []) if filters.empty else passes(filters)
    docs = "" if filters.empty else f"JOIN documents d ON d.id = p.doc_id WHERE {where}"
    # idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / mean)), its constants folded in
    # Python and every term float8 (a numeric literal would make the sum numeric: slower).
    sql = ("SELECT p.chunk_id, sum(q.w * p.tf / (p.tf + %s::float8 + %s::float8 * p.len)) "
           "AS s FROM unnest(%s::text[], %s::float8[]) AS q(lexeme, w) JOIN postings p ON "
           f"p.lexeme = q.lexeme {docs} GROUP BY p.chunk_id ORDER BY s DESC, p.chunk_id "
           "LIMIT %s")
    weights = [w * (K1 + 1) for w in idf]
    return [(cid, float(s)) for cid, s in
            run(sql, [K1 * (1 - B), K1 * B / mean, kept, weights, *args, n])]


_STEMS: dict[str, str] = {}  # word -> its lexeme (the 'english' configuration of LAYOUT)


def stems(run: Run, words: list[str]) -> list[str]:
    """Each word as the index stores it (English stem; '' for a stop word), asked of the
    server once per word and process."""
    new = sorted({w for w in words if w not in _STEMS})
    if new:
        rows = run("SELECT w, coalesce((SELECT min(lexeme) FROM unnest(to_tsvector("
                   "'english', w))), '') FROM unnest(%s::text[]) AS t(w)", (new,))
        if len(_STEMS) > 100_000:
            _STEMS.clear()
        _STEMS.update(dict(rows))  # type: ignore[arg-type]
    return [_STEMS.get(w, "") for w in words]


def passes(filters: Filters) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``documents d``) and its arguments for ``filters``."""
    lo, hi = filters.days()
    where = "(d.published BETWEEN %s AND %s" + (" OR d.published IS NULL)" if lo == 0 else ")")
    args: list[Any] = [iso(max(lo, 1)), iso(hi)]
    if filters.uri:
        where += " AND starts_with(d.uri, %s)"
        args.append(filters.uri)
    return where, args


def iso(day: int) -> str:
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"
