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
from pathlib import Path
from typing import Any, Iterator

from assistant import pglexical
from assistant.documents import Passage, Span
from assistant.errors import StoreError
from assistant.pglexical import BODY, LAYOUT, passes
from assistant.types import Chunk, DocRecord, Document, Filters, link_of

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, uri TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    published TEXT, meta JSONB NOT NULL, source_hash TEXT NOT NULL,
    ingested_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, body TSVECTOR);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_body ON chunks USING GIN (body);
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
        # check: a connection the server dropped (a restart) is replaced before use.
        self._pool = ConnectionPool(url, min_size=1, max_size=8, open=False, timeout=10,
                                    check=ConnectionPool.check_connection, kwargs=options)
        self._pool.open(wait=True, timeout=15)
        self.migrate()
        self._counted: tuple[int, int, int, float] = (-1, 0, 0, 1.0)

    def _run(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """One statement in its own transaction; its rows (none for a write)."""
        return self._work(lambda cur: (cur.execute(sql, args),
                                       cur.fetchall() if cur.description else [])[1])

    def _work(self, work: Any) -> Any:
        """``work(cursor)`` in one transaction, committed when it returns."""
        import psycopg

        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                return work(cur)
        except psycopg.errors.OperationalError as e:
            raise StoreError(f"{shown(self.url)}: PostgreSQL failed mid-request ({why(e)}); "
                             "run the command again once the server is back") from None
        except Exception as e:
            from psycopg_pool import PoolTimeout

            if isinstance(e, PoolTimeout):
                raise StoreError(f"{shown(self.url)}: no PostgreSQL connection within the "
                                 "pool's timeout; is the server up?") from None
            raise

    def migrate(self) -> None:
        """Create the collection's schema, or bring an older one up to date, under a
        transaction-scoped advisory lock so that two processes starting together agree."""
        def create(cur: Any) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self.schema) ^ 1,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            cur.execute(f"SET LOCAL search_path = {self.schema}")
            cur.execute(SCHEMA)
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
        """(documents, chunks), counted again only when the store has changed."""
        self._stats()
        return self._counted[1], self._counted[2]

    def _stats(self) -> tuple[int, float]:
        """(chunks, their mean length in lexemes), for BM25; counted again on change."""
        version = self.version()
        if self._counted[0] != version:
            docs, chunks, mean = self._run(
                "SELECT (SELECT COUNT(*) FROM documents), COUNT(*), "
                "coalesce(avg(length(body)), 1) FROM chunks")[0]
            self._counted = (version, docs, chunks, float(mean) or 1.0)
        return self._counted[2], self._counted[3]

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
        chunks, mean = self._stats()
        return pglexical.search(self._run, f"{self.url}#{self.schema}", words, n, chunks, mean,
                                filters or Filters())

    def lexical_problem(self) -> str | None:
        """How the lexical column disagrees with the chunk rows, or None."""
        missing = self._run("SELECT COUNT(*) FROM chunks WHERE body IS NULL")[0][0]
        return f"{missing} chunk rows missing from the lexical index" if missing else None

    def rebuild_lexical(self, force: bool = False) -> None:
        def rebuild(cur: Any) -> None:
            cur.execute(f'UPDATE chunks c SET body = {BODY} FROM documents d WHERE '
                        "d.id = c.doc_id" + ("" if force or self.get_info("lexical") != LAYOUT
                                             else " AND c.body IS NULL"))
            cur.execute("INSERT INTO info VALUES ('lexical', %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = EXCLUDED.value", (LAYOUT,))

        self._work(rebuild)

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
    def commit(self, doc: Document, chunks: list[Chunk], pages: list[int | None],
               source_hash: str) -> list[str]:
        """Atomically replace whatever is stored under ``doc.uri`` with ``doc`` and its
        chunks (and their lexical entries). Returns the chunk ids that were replaced."""
        def write(cur: Any) -> list[str]:
            cur.execute("SELECT id FROM documents WHERE uri=%s FOR UPDATE", (doc.uri,))
            old = cur.fetchone()
            stale: list[str] = []
            if old:
                cur.execute("DELETE FROM chunks WHERE doc_id=%s RETURNING id", old)
                stale = [r[0] for r in cur.fetchall()]
                cur.execute("DELETE FROM documents WHERE id=%s", old)
            from psycopg.types.json import Jsonb

            cur.execute("INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (doc.id, doc.uri, doc.title, doc.text, doc.published,
                         Jsonb(doc.meta), source_hash, time.time()))
            cur.executemany('INSERT INTO chunks (id, doc_id, start, "end", page) VALUES '
                            "(%s, %s, %s, %s, %s)",
                            [(c.id, c.doc_id, c.start, c.end, p) for c, p in zip(chunks, pages)])
            cur.execute(f"UPDATE chunks c SET body = {BODY} FROM documents d WHERE "
                        "d.id = c.doc_id AND c.doc_id = %s", (doc.id,))
            _bump(cur)
            return stale

        stale = self._work(write)
        keep = {c.id for c in chunks}
        return [c for c in stale if c not in keep]

    def touch(self, uri: str, source_hash: str) -> None:
        self._run("UPDATE documents SET source_hash=%s WHERE uri=%s", (source_hash, uri))

    def delete(self, doc_id: str) -> list[str]:
        def remove(cur: Any) -> list[str]:
            cur.execute("DELETE FROM chunks WHERE doc_id=%s RETURNING id", (doc_id,))
            ids = [r[0] for r in cur.fetchall()]
            cur.execute("DELETE FROM documents WHERE id=%s", (doc_id,))
            _bump(cur)
            return ids

        return self._work(remove)


def _bump(cur: Any) -> None:
    cur.execute("INSERT INTO info VALUES ('version', '1') ON CONFLICT (key) DO UPDATE "
                "SET value = (info.value::bigint + 1)::text")


def why(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__

