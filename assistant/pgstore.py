"""Whole documents, their chunk spans, the write journal and the lexical index in
PostgreSQL (psycopg 3 and its connection pool): the ``DocumentStore`` of several processes
or machines sharing one collection (``ASSISTANT_DATABASE_URL``).

The same contract as the SQLite file (``docstore.DocStore``): documents, chunk rows, the
journal and the lexical column change together in one transaction per document, and every
read (its own short transaction) sees the last commit. Each collection lives in its own
schema, created and migrated by ``migrate`` (its version recorded in ``info``).

The lexical index is a ``tsvector`` column of each chunk row (``pglexical``); the write
lock a session-level advisory lock (``pglock``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterator, Sequence

from assistant import pglexical
from assistant.documents import Passage, Span, Write, kept
from assistant.errors import StoreError
from assistant.pglexical import BODY, LAYOUT, passes
from assistant.types import Chunk, DocRecord, Document, Filters, link_of

SCHEMA_VERSION = "3"  # 2: postings for BM25 (pglexical.TABLES), no GIN index; 3: sentences
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, uri TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    published TEXT, meta JSONB NOT NULL, source_hash TEXT NOT NULL,
    ingested_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, body TSVECTOR,
    sentences BYTEA);
ALTER TABLE chunks ADD COLUMN IF NOT EXISTS sentences BYTEA;
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published);
CREATE TABLE IF NOT EXISTS journal (
    doc_id TEXT PRIMARY KEY, uri TEXT NOT NULL, chunk_ids TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def schema_of(name: str) -> str:
    """The PostgreSQL schema of a collection: readable, and unique by a hash."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:30]
    return f"assistant_{slug}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def lock_key(schema: str) -> int:
    """The advisory lock's 64-bit key for a collection."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)


class PgDocStore:
    """PostgreSQL-backed store of whole documents and chunk offsets."""

    def __init__(self, url: str, name: str, path: Path) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url, self.schema, self.path = url, schema_of(name), path
        options = {"options": f"-c search_path={self.schema}", "connect_timeout": 10,
                   "application_name": "assistant"}
        try:  # one connection first: a refused or wrong URL fails now, with its reason
            psycopg.connect(url, **options).close()  # type: ignore[arg-type]
        except psycopg.Error as e:
            raise StoreError(f"{shown(url)}: cannot connect to PostgreSQL ({why(e)}); start "
                             "it or fix ASSISTANT_DATABASE_URL") from None
        # autocommit: a read is one round trip; writes open their transaction (_work).
        self._pool = ConnectionPool(url, min_size=1, max_size=8, open=False, timeout=10,
                                    kwargs={**options, "autocommit": True})
        self._pool.open(wait=True, timeout=15)
        self.migrate()

    def _run(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """One statement, its own transaction; its rows (none for a write). Every statement
        run this way is a read or an idempotent write, so it is tried once more on a fresh
        connection when its connection failed (a server restart breaks the idle ones)."""
        return self._work(lambda cur: (cur.execute(sql, args),
                                       cur.fetchall() if cur.description else [])[1],
                          transaction=False)

    def _work(self, work: Any, transaction: bool = True) -> Any:
        """``work(cursor)`` in one transaction, committed when it returns (with
        ``transaction=False``: one statement, autocommitted, retried once)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        for attempt in (1, 2):
            began = False  # a failure before BEGIN succeeded changed nothing: try again
            try:
                with self._pool.connection() as conn:
                    with conn.transaction() if transaction else nullcontext():
                        began = True
                        with conn.cursor() as cur:
                            return work(cur)
            except psycopg.errors.OperationalError as e:
                if attempt == 1 and (not began or not transaction):
                    self._pool.check()  # drop the broken connections, open new ones
                    continue
                raise StoreError(f"{shown(self.url)}: PostgreSQL failed mid-request "
                                 f"({why(e)}); run the command again once the server is "
                                 "back") from None
            except PoolTimeout:
                raise StoreError(f"{shown(self.url)}: no PostgreSQL connection within the "
                                 "pool's timeout; is the server up?") from None
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        """Create the collection's schema, or bring an older one up to date, under a
        transaction-scoped advisory lock so that two processes starting together agree."""
        def create(cur: Any) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self.schema) ^ 1,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            cur.execute(f"SET LOCAL search_path = {self.schema}")
            cur.execute(SCHEMA)
            cur.execute(pglexical.TABLES)
            cur.execute("INSERT INTO info VALUES ('schema', %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = EXCLUDED.value", (SCHEMA_VERSION,))

        self._work(create)
        if self.get_info("lexical") != LAYOUT:
            self.rebuild_lexical()

    def close(self) -> None:
        self._pool.close()

    # --- info ---------------------------------------------------------------------------
    def get_info(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM info WHERE key=%s", (key,))
        return rows[0][0] if rows else None

    def set_info(self, key: str, value: str) -> None:
        self._run("INSERT INTO info VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                  "SET value = EXCLUDED.value", (key, value))

    def version(self) -> int:
        """Changes whenever documents are committed or removed, by any process."""
        return int(self.get_info("version") or 0)

    def count(self) -> tuple[int, int]:
        """(documents, chunks), as the writes keep them in ``info``."""
        docs, chunks, _ = self._totals()
        return docs, chunks

    def _totals(self) -> tuple[int, int, int]:
        """(documents, chunks, postings): the totals each write keeps in ``info``."""
        got = dict(self._run("SELECT key, value FROM info WHERE key = ANY(%s)",
                             (["documents", "chunks", "lexemes"],)))
        return (int(got.get("documents", 0)), int(got.get("chunks", 0)),
                int(got.get("lexemes", 0)))

    # --- reads --------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document | None:
        rows = self._run("SELECT id, uri, title, text, published, meta FROM documents "
                         "WHERE id=%s", (doc_id,))
        return Document(*rows[0]) if rows else None

    def get_by_uri(self, uri: str) -> Document | None:
        rows = self._run("SELECT id, uri, title, text, published, meta FROM documents "
                         "WHERE uri=%s", (uri,))
        return Document(*rows[0]) if rows else None

    def source_hash(self, uri: str) -> str | None:
        rows = self._run("SELECT source_hash FROM documents WHERE uri=%s", (uri,))
        return rows[0][0] if rows else None

    def uri_of(self, doc_id: str) -> str | None:
        rows = self._run("SELECT uri FROM documents WHERE id=%s", (doc_id,))
        return rows[0][0] if rows else None

    def records(self, uri_prefix: str | None = None) -> list[DocRecord]:
        where = "WHERE starts_with(d.uri, %s) " if uri_prefix is not None else ""
        rows = self._run(
            "SELECT d.id, d.uri, d.title, d.published, COUNT(c.id), d.ingested_at, "
            "d.source_hash, d.meta->>'url' FROM documents d LEFT JOIN chunks c ON "
            f"c.doc_id = d.id {where}GROUP BY d.id ORDER BY d.ingested_at, d.uri",
            (uri_prefix,) if uri_prefix is not None else None)
        return [DocRecord(*r[:7], link_of(r[1], r[7])) for r in rows]

    def chunks_of(self, doc: Document) -> list[Chunk]:
        rows = self._run('SELECT id, start, "end" FROM chunks WHERE doc_id=%s ORDER BY start',
                         (doc.id,))
        return [Chunk(cid, doc.id, s, e, doc.text[s:e]) for cid, s, e in rows]

    def chunk_ids_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._run("SELECT id FROM chunks WHERE doc_id=%s", (doc_id,))]

    def published_of(self, doc_ids: list[str]) -> dict[str, str | None]:
        return dict(self._run("SELECT id, published FROM documents WHERE id = ANY(%s)",
                              (doc_ids,)))  # type: ignore[arg-type]

    def passages(self, spans: list[Span]) -> list[Passage | None]:
        if not spans:
            return []
        rows = self._run(
            "SELECT s.n, d.uri, d.title, d.published, substr(d.text, s.start + 1, "
            "s.stop - s.start), d.meta->>'url' FROM unnest(%s::text[], %s::int[], %s::int[]) "
            "WITH ORDINALITY AS s(doc_id, start, stop, n) JOIN documents d ON d.id = s.doc_id",
            ([d for d, _, _ in spans], [s for _, s, _ in spans], [e for _, _, e in spans]))
        found = {n: (*r[:4], link_of(r[0], r[4])) for n, *r in rows}
        return [found.get(i + 1) for i in range(len(spans))]  # type: ignore[misc]

    def chunk_metas(self) -> Iterator[tuple[str, tuple[str, str, int, int, int | None,
                                                       str | None]]]:
        for cid, *rest in self._run('SELECT c.id, c.doc_id, d.uri, c.start, c."end", c.page, '
                                    "d.published FROM chunks c JOIN documents d ON "
                                    "d.id = c.doc_id"):
            yield cid, tuple(rest)  # type: ignore[misc]

    def text_lengths(self) -> dict[str, int]:
        return dict(self._run("SELECT id, length(text) FROM documents"))  # type: ignore[arg-type]

    def origins(self) -> list[tuple[str, str, str]]:
        return [(i, u, o or u) for i, u, o in
                self._run("SELECT id, uri, meta->>'source' FROM documents")]

    def chunk_pages(self, chunk_ids: list[str]) -> dict[str, tuple[str, int, int, int | None]]:
        rows = self._run('SELECT id, doc_id, start, "end", page FROM chunks WHERE id = ANY(%s)',
                         (chunk_ids,))
        return {cid: (d, s, e, p) for cid, d, s, e, p in rows}

    def sentence_vectors(self, spans: list[Span]) -> list[list[bytes]]:
        rows = self._run(
            'SELECT s.i, c.sentences FROM unnest(%s::text[], %s::int[], %s::int[]) WITH '
            "ORDINALITY AS s(doc_id, lo, hi, i) JOIN chunks c ON c.doc_id = s.doc_id AND "
            'c.start < s.hi AND c."end" > s.lo WHERE c.sentences IS NOT NULL '
            "ORDER BY s.i, c.start", ([d for d, _, _ in spans], [lo for _, lo, _ in spans],
                                      [hi for _, _, hi in spans]))
        out: list[list[bytes]] = [[] for _ in spans]
        for i, blob in rows:
            out[i - 1].append(bytes(blob))
        return out

    def chunks_without_sentences(self) -> list[str]:
        return [r[0] for r in self._run("SELECT id FROM chunks WHERE sentences IS NULL "
                                        "ORDER BY id")]

    def set_sentences(self, rows: list[tuple[str, bytes]]) -> None:
        self._work(lambda cur: cur.executemany("UPDATE chunks SET sentences=%s WHERE id=%s",
                                               [(b, c) for c, b in rows]))

    def iter_chunks(self) -> Iterator[tuple[str, str, int, int]]:
        yield from self._run('SELECT id, doc_id, start, "end" FROM chunks '
                             "ORDER BY doc_id, start")  # type: ignore[misc]

    def share(self, filters: Filters) -> float:
        where, args = passes(filters)
        total = self.count()[0]
        n = self._run(f"SELECT COUNT(*) FROM documents d WHERE {where}", args)[0][0]
        return n / total if total else 0.0

    # --- lexical index ------------------------------------------------------------------
    def lexical_search(self, words: list[str], n: int, filters: Filters | None = None
                       ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the n best chunks for ``words`` (see pglexical.py)."""
        _, chunks, lexemes = self._totals()
        return pglexical.search(self._run, f"{self.url}#{self.schema}", words, n, chunks,
                                lexemes / max(chunks, 1), filters or Filters())

    def lexical_problem(self) -> str | None:
        """How the lexical index disagrees with the chunk rows, or None."""
        kept = "(SELECT coalesce(min(value::bigint), 0) FROM info WHERE key = %s)"
        (docs, chunks, lexemes, d, c, p), = self._run(  # one statement: one snapshot
            f"SELECT {kept}, {kept}, {kept}, (SELECT COUNT(*) FROM documents), "
            "(SELECT COUNT(*) FROM chunks), (SELECT COUNT(*) FROM postings)",
            ("documents", "chunks", "lexemes"))
        if (d, c, p) != (docs, chunks, lexemes):
            return (f"the lexical index counts {docs} documents, {chunks} chunks and "
                    f"{lexemes} postings; the tables hold {d}, {c} and {p}")
        return None

    def rebuild_lexical(self, force: bool = False) -> None:
        """Build the lexical index again from the chunk rows (always whole: ``force`` is
        the interface's, for an index that can be patched)."""
        def rebuild(cur: Any) -> None:
            pglexical.rebuild(cur)
            cur.execute("INSERT INTO info VALUES ('lexical', %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = EXCLUDED.value", (LAYOUT,))

        self._work(rebuild)
        self._run("VACUUM (ANALYZE) postings")  # the visibility map of index-only scans

    # --- journal ------------------------------------------------------------------------
    def begin(self, entries: list[tuple[str, str, list[str]]]) -> None:
        now = time.time()
        self._work(lambda cur: cur.executemany(
            "INSERT INTO journal VALUES (%s, %s, %s, %s) ON CONFLICT (doc_id) DO UPDATE SET "
            "uri = EXCLUDED.uri, chunk_ids = EXCLUDED.chunk_ids, started = EXCLUDED.started",
            [(d, u, json.dumps(c), now) for d, u, c in entries]))

    def pending(self) -> list[tuple[str, str, list[str]]]:
        return [(d, u, json.loads(c)) for d, u, c in
                self._run("SELECT doc_id, uri, chunk_ids FROM journal")]

    def end(self, doc_ids: list[str]) -> None:
        self._run("DELETE FROM journal WHERE doc_id = ANY(%s)", (doc_ids,))

    # --- writes -------------------------------------------------------------------------
    def commit(self, writes: Sequence[Write]) -> list[str]:
        """Atomically (one transaction: all or none) replace whatever is stored under each
        write's uri with its document and chunks (and their lexical entries). Returns the
        chunk ids that were replaced. A uri written twice keeps its last write."""
        from psycopg.types.json import Jsonb

        last = {w.doc.uri: w for w in writes}
        final = list(last.values())
        docs = [w.doc for w in final]
        chunks = [(c, p, b) for w in final for c, p, b in zip(w.chunks, w.pages, w.blobs())]

        def write(cur: Any) -> list[str]:
            # Not waiting for this commit to reach the disk: `end` (after the commit, its
            # own commit synchronous) flushes the log up to it, so a batch is durable when
            # put_many returns, and a server crash before that leaves the journal entries
            # (written synchronously by `begin`) for recovery to finish or undo; as
            # SQLite's WAL with synchronous=NORMAL.
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SELECT id FROM documents WHERE uri = ANY(%s) FOR UPDATE",
                        ([d.uri for d in docs],))
            old = [r[0] for r in cur.fetchall()]
            removed, stale = 0, []
            if old:
                removed = pglexical.unindex(cur, old)
                cur.execute("DELETE FROM chunks WHERE doc_id = ANY(%s) RETURNING id", (old,))
                stale = [r[0] for r in cur.fetchall()]
                cur.execute("DELETE FROM documents WHERE id = ANY(%s)", (old,))
            # Each table's rows in one statement, the chunks with their lexical column.
            cur.execute("INSERT INTO documents SELECT * FROM unnest(%s::text[], %s::text[], "
                        "%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[], "
                        "%s::float8[])",
                        ([d.id for d in docs], [d.uri for d in docs], [d.title for d in docs],
                         [d.text for d in docs], [d.published for d in docs],
                         [Jsonb(d.meta) for d in docs], [w.source_hash for w in final],
                         [time.time()] * len(docs)))
            cur.execute(f'INSERT INTO chunks (id, doc_id, start, "end", page, body, '
                        f'sentences) SELECT c.id, d.id, c.start, c."end", c.page, {BODY}, '
                        'c.sentences FROM unnest(%s::text[], %s::text[], %s::int[], '
                        '%s::int[], %s::int[], %s::bytea[]) AS c(id, doc_id, start, "end", '
                        'page, sentences) JOIN documents d ON d.id = c.doc_id',
                        ([c.id for c, _, _ in chunks], [c.doc_id for c, _, _ in chunks],
                         [c.start for c, _, _ in chunks], [c.end for c, _, _ in chunks],
                         [p for _, p, _ in chunks], [b for _, _, b in chunks]))
            added = pglexical.index(cur, [d.id for d in docs])
            _bump(cur, len(docs) - len(old), len(chunks) - len(stale), added - removed)
            return stale

        superseded = [c.id for w in writes if last[w.doc.uri] is not w for c in w.chunks]
        keep = kept(writes)
        return [c for c in self._work(write) + superseded if c not in keep]

    def touch(self, uri: str, source_hash: str) -> None:
        self._run("UPDATE documents SET source_hash=%s WHERE uri=%s", (source_hash, uri))

    def delete(self, doc_id: str) -> list[str]:
        def remove(cur: Any) -> list[str]:
            removed = pglexical.unindex(cur, [doc_id])
            cur.execute("DELETE FROM chunks WHERE doc_id=%s RETURNING id", (doc_id,))
            ids = [r[0] for r in cur.fetchall()]
            cur.execute("DELETE FROM documents WHERE id=%s", (doc_id,))
            _bump(cur, -int(cur.rowcount), -len(ids), -removed)
            return ids

        return self._work(remove)


def _bump(cur: Any, documents: int, chunks: int, lexemes: int) -> None:
    """A new version, and the totals moved by what the write added and removed."""
    cur.execute("INSERT INTO info VALUES ('version', '1'), ('documents', %s), ('chunks', %s), "
                "('lexemes', %s) ON CONFLICT (key) DO UPDATE SET value = (info.value::bigint "
                "+ CASE WHEN info.key = 'version' THEN 1 ELSE EXCLUDED.value::bigint END)::text",
                (str(documents), str(chunks), str(lexemes)))


def why(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__

