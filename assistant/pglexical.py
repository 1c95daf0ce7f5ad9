"""The lexical index of a PostgreSQL store (``pgstore``): a ``tsvector`` column of each
chunk row (its document's title, then its text; PostgreSQL's English stemmer) with a GIN
index, written in the same transaction as the row.

Ranked by BM25 computed from PostgreSQL's own statistics, as FTS5's ``bm25()`` ranks the
SQLite index: a term's chunk count comes from the GIN index, its frequency in a chunk
from ``ts_rank_cd`` (0.1 per occurrence for a one-term query, normalisation 0), a
chunk's length from ``length(tsvector)`` (its distinct lexemes). A query keeps the words
that FTS5's would (``lexical.worth_looking_up``: no common words, a postings budget) and
carries the date and URI filters in its WHERE clause.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from assistant.lexical import counted, worth_looking_up
from assistant.types import Filters

LAYOUT = "tsvector-english-1"  # recorded in `info`; another value means: rebuild the column
BODY = ("to_tsvector('english', d.title || E'\\n' || substr(d.text, c.start + 1, "
        'c."end" - c.start))')
K1, B = 1.2, 0.75  # BM25's usual constants, as FTS5's bm25()
Run = Callable[..., list[tuple[Any, ...]]]  # PgDocStore._run: one statement, its rows


def search(run: Run, key: str, words: list[str], n: int, chunks: int, mean: float,
           filters: Filters) -> list[tuple[str, float]]:
    """(chunk id, BM25 score) of the n best chunks holding any of ``words``, higher is
    better, within ``filters``; ``chunks`` and ``mean`` (lexemes per chunk) as counted;
    ``key`` names the collection for the cache of word counts."""
    if not words or not chunks:
        return []
    lexemes = stems(run, words)
    df = frequencies(run, key, sorted({x for x in lexemes if x}), chunks)
    kept = worth_looking_up([(df[x], x) for x in dict.fromkeys(lexemes) if df.get(x)],
                            chunks)
    if not kept:
        return []
    terms = [tsquery(x) for x in kept]
    idf = [math.log(1 + (chunks - df[x] + 0.5) / (df[x] + 0.5)) for x in kept]
    length = f"({1 - B} + {B} * length(c.body) / %s::float8)"
    score = " + ".join(f"%s::float8 * tf{i} * {K1 + 1} / (tf{i} + {K1} * {length})"
                       for i in range(len(kept)))
    tfs = ", ".join(f"10 * ts_rank_cd(c.body, %s::tsquery, 0) AS tf{i}"
                    for i in range(len(kept)))
    where, args = passes(filters)
    sql = (f"SELECT id, {score} AS s FROM (SELECT c.id, c.body, {tfs} FROM chunks c "
           f"JOIN documents d ON d.id = c.doc_id WHERE c.body @@ %s::tsquery AND {where}) "
           "c ORDER BY s DESC, id LIMIT %s")
    params: list[Any] = [v for f in idf for v in (f, mean)] + terms
    params += [" | ".join(terms), *args, n]
    return [(cid, float(s)) for cid, s in run(sql, params)]


def stems(run: Run, words: list[str]) -> list[str]:
    """Each word as the index stores it (English stem; '' for a stop word)."""
    rows = run("SELECT coalesce((SELECT min(lexeme) FROM unnest(to_tsvector('english', w))), "
               "'') FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n", (words,))
    return [r[0] for r in rows]


def frequencies(run: Run, key: str, lexemes: list[str], chunks: int) -> dict[str, int]:
    """lexeme -> the number of chunks holding it (through the GIN index); the counts of
    common ones are kept as the SQLite index keeps them (``lexical.counted``)."""
    def count(wanted: list[str]) -> list[tuple[str, int]]:
        return run("SELECT x, (SELECT COUNT(*) FROM chunks WHERE body @@ q::tsquery) FROM "
                   "unnest(%s::text[], %s::text[]) AS t(x, q)",
                   (wanted, [tsquery(x) for x in wanted]))  # type: ignore[return-value]

    return counted(key, lexemes, chunks, count)


def tsquery(lexeme: str) -> str:
    """One lexeme as a tsquery literal, taken as it is (no second stemming)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


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
