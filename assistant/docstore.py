"""Whole documents, their chunk offsets and a write journal, in one SQLite file.

SQLite is the record of truth: a document exists when its row is committed here, and
its chunks are exactly the rows of ``chunks`` with its ``doc_id``. The vector index
(Chroma) is written *before* that commit and cleaned *after* it; the ``journal`` table
remembers writes in flight so that an interrupted run is repaired on the next open.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from assistant import lexical
from assistant.errors import StoreError
from assistant.documents import Passage, Span, Write, kept
from assistant.types import Chunk, DocRecord, Document, Filters, link_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, uri TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    published TEXT, meta TEXT NOT NULL, source_hash TEXT NOT NULL, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, sentences BLOB);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published);
CREATE TABLE IF NOT EXISTS journal (
    doc_id TEXT PRIMARY KEY, uri TEXT NOT NULL, chunk_ids TEXT NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class DocStore:
    """SQLite-backed store of whole documents and chunk offsets.

    Each thread has its own connection, so a reader thread never sees a writer thread's
    transaction half-done (WAL: each read sees the last commit)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._db.executescript(SCHEMA + lexical.SCHEMA)
        if "sentences" not in {r[1] for r in self._db.execute("PRAGMA table_info(chunks)")}:
            # A home made before sentence vectors were stored: ``check --repair`` fills them.
            self._db.execute("ALTER TABLE chunks ADD COLUMN sentences BLOB")
        self._counted: tuple[int, int, int] = (-1, 0, 0)  # version, documents, chunks
        if self.get_info("lexical") != lexical.LAYOUT:
            self.rebuild_lexical()

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=30)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: not a usable document store ({e}); move it "
                                 "away or point ASSISTANT_HOME elsewhere") from None
            self._local.db = db
            with self._guard:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # --- info ---------------------------------------------------------------------------
    def get_info(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM info WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_info(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", (key, value))

    # --- reads --------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document | None:
        row = self._db.execute("SELECT id, uri, title, text, published, meta FROM documents "
                               "WHERE id=?", (doc_id,)).fetchone()
        return _doc(row) if row else None

    def get_by_uri(self, uri: str) -> Document | None:
        row = self._db.execute("SELECT id, uri, title, text, published, meta FROM documents "
                               "WHERE uri=?", (uri,)).fetchone()
        return _doc(row) if row else None

    def source_hash(self, uri: str) -> str | None:
        row = self._db.execute("SELECT source_hash FROM documents WHERE uri=?",
                               (uri,)).fetchone()
        return row[0] if row else None

    def uri_of(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT uri FROM documents WHERE id=?", (doc_id,)).fetchone()
        return row[0] if row else None

    def records(self, uri_prefix: str | None = None) -> list[DocRecord]:
        sql = ("SELECT d.id, d.uri, d.title, d.published, COUNT(c.id), d.ingested_at, "
               "d.source_hash, json_extract(d.meta, '$.url') FROM documents d "
               "LEFT JOIN chunks c ON c.doc_id = d.id ")
        args: tuple[str, ...] = ()
        if uri_prefix is not None:
            sql += "WHERE substr(d.uri, 1, length(?)) = ? "
            args = (uri_prefix, uri_prefix)
        sql += "GROUP BY d.id ORDER BY d.ingested_at, d.uri"
        return [DocRecord(*r[:7], link_of(r[1], r[7])) for r in self._db.execute(sql, args)]

    def chunks_of(self, doc: Document) -> list[Chunk]:
        rows = self._db.execute('SELECT id, start, "end" FROM chunks WHERE doc_id=? '
                                "ORDER BY start", (doc.id,))
        return [Chunk(cid, doc.id, s, e, doc.text[s:e]) for cid, s, e in rows]

    def chunk_ids_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id=?",
                                               (doc_id,))]

    def published_of(self, doc_ids: list[str]) -> dict[str, str | None]:
        """doc id -> its publication date (ISO day) or None, without loading texts."""
        out: dict[str, str | None] = {}
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i:i + 500]
            q = ",".join("?" * len(part))
            out.update(self._db.execute(
                f"SELECT id, published FROM documents WHERE id IN ({q})", part))
        return out

    def passages(self, spans: list[Span]) -> list[Passage | None]:
        out: list[Passage | None] = []
        for doc_id, start, end in spans:
            row = self._db.execute("SELECT uri, title, published, substr(text, ?, ?), "
                                   "json_extract(meta, '$.url') FROM documents WHERE id=?",
                                   (start + 1, end - start, doc_id)).fetchone()
            out.append((*row[:4], link_of(row[0], row[4])) if row else None)
        return out

    def chunk_metas(self) -> Iterator[tuple[str, tuple[str, str, int, int, int | None,
                                                       str | None]]]:
        """(chunk id, (doc_id, uri, start, end, page, published)) of every chunk."""
        for cid, *rest in self._db.execute(
                'SELECT c.id, c.doc_id, d.uri, c.start, c."end", c.page, d.published '
                "FROM chunks c JOIN documents d ON d.id = c.doc_id"):
            yield cid, tuple(rest)  # type: ignore[misc]

    def text_lengths(self) -> dict[str, int]:
        """doc id -> length of its text (without loading the texts)."""
        return dict(self._db.execute("SELECT id, length(text) FROM documents"))

    def origins(self) -> list[tuple[str, str, str]]:
        """(id, uri, the file or URL it came from) of every document, without texts."""
        return [(i, u, o or u) for i, u, o in self._db.execute(
            "SELECT id, uri, json_extract(meta, '$.source') FROM documents")]

    def chunk_pages(self, chunk_ids: list[str]) -> dict[str, tuple[str, int, int, int | None]]:
        """chunk id -> (doc_id, start, end, page) for the ids that are committed."""
        out: dict[str, tuple[str, int, int, int | None]] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i:i + 500]
            q = ",".join("?" * len(part))
            for cid, d, s, e, p in self._db.execute(
                    f'SELECT id, doc_id, start, "end", page FROM chunks WHERE id IN ({q})', part):
                out[cid] = (d, s, e, p)
        return out

    def iter_chunks(self) -> Iterator[tuple[str, str, int, int]]:
        """(chunk id, doc_id, start, end) of every committed chunk."""
        yield from self._db.execute('SELECT id, doc_id, start, "end" FROM chunks '
                                    "ORDER BY doc_id, start")

    def sentence_vectors(self, spans: list[Span]) -> list[list[bytes]]:
        """For each (doc_id, start, end): the packed sentence vectors of the chunks that
        overlap it (a retrieved span may merge several chunks), in text order."""
        return [[r[0] for r in self._db.execute(
            'SELECT sentences FROM chunks WHERE doc_id=? AND start < ? AND "end" > ? '
            "AND sentences IS NOT NULL ORDER BY start", (d, e, s))] for d, s, e in spans]

    def chunks_without_sentences(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE sentences "
                                               "IS NULL ORDER BY id")]

    def set_sentences(self, rows: list[tuple[str, bytes]]) -> None:
        self._transaction(lambda db: db.executemany(
            "UPDATE chunks SET sentences=? WHERE id=?", [(b, c) for c, b in rows]))

    def share(self, filters: Filters) -> float:
        """The fraction of documents that pass ``filters`` (0 when there are none)."""
        lo, hi = filters.days()
        sql = "SELECT COUNT(*) FROM documents WHERE (published BETWEEN ? AND ?"
        sql += " OR published IS NULL)" if lo == 0 else ")"
        args: list[Any] = [_iso(max(lo, 1)), _iso(hi)]
        if filters.uri:
            sql += " AND uri >= ? AND uri < ?"
            args += [filters.uri, filters.uri + "\U0010ffff"]
        total = self.count()[0]
        return self._db.execute(sql, args).fetchone()[0] / total if total else 0.0

    def lexical_search(self, words: list[str], n: int, filters: Filters | None = None
                       ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the n best chunks for ``words`` (see lexical.py)."""
        return lexical.search(self._db, words, n, self.count()[1], filters)

    def lexical_problem(self) -> str | None:
        """How the lexical index disagrees with the chunk rows, or None."""
        return lexical.problem(self._db)

    def count(self) -> tuple[int, int]:
        """(documents, chunks), counted again only when the store has changed."""
        version = self.version()
        if self._counted[0] != version:
            docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            self._counted = (version, docs, chunks)
        return self._counted[1], self._counted[2]

    def version(self) -> int:
        """Changes whenever documents are committed or removed (for derived indexes)."""
        return int(self.get_info("version") or 0)

    # --- journal ------------------------------------------------------------------------
    def begin(self, entries: list[tuple[str, str, list[str]]]) -> None:
        """Record that the chunks of these (doc_id, uri, chunk ids) are about to be written
        to the vector index."""
        now = time.time()
        self._transaction(lambda db: db.executemany(
            "INSERT OR REPLACE INTO journal VALUES (?, ?, ?, ?)",
            [(d, u, json.dumps(c), now) for d, u, c in entries]))

    def pending(self) -> list[tuple[str, str, list[str]]]:
        return [(d, u, json.loads(c)) for d, u, c in
                self._db.execute("SELECT doc_id, uri, chunk_ids FROM journal")]

    def end(self, doc_ids: list[str]) -> None:
        self._transaction(lambda db: db.executemany("DELETE FROM journal WHERE doc_id=?",
                                                    [(d,) for d in doc_ids]))

    def _transaction(self, work: Any) -> None:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            work(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- writes -------------------------------------------------------------------------
    def commit(self, writes: Sequence[Write]) -> list[str]:
        """Atomically (one transaction: all or none) replace whatever is stored under each
        write's uri with its document and chunks (with their sentence vectors, when given).
        Returns the chunk ids that were replaced (to drop from the vector index)."""
        db = self._db
        stale: list[str] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for w in writes:
                doc = w.doc
                old = db.execute("SELECT id FROM documents WHERE uri=?", (doc.uri,)).fetchone()
                if old:
                    stale += [r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id=?",
                                                       old)]
                    lexical.unindex(db, old[0])
                    db.execute("DELETE FROM chunks WHERE doc_id=?", old)
                    db.execute("DELETE FROM documents WHERE id=?", old)
                db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (doc.id, doc.uri, doc.title, doc.text, doc.published,
                            json.dumps(doc.meta), w.source_hash, time.time()))
                db.executemany('INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)',
                               [(c.id, c.doc_id, c.start, c.end, p, b)
                                for c, p, b in zip(w.chunks, w.pages, w.blobs())])
                lexical.index(db, doc.id)
            self._bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        keep = kept(writes)
        return [c for c in stale if c not in keep]

    def touch(self, uri: str, source_hash: str) -> None:
        """Record a new source hash for an unchanged text (e.g. a re-saved file)."""
        self._db.execute("UPDATE documents SET source_hash=? WHERE uri=?", (source_hash, uri))

    def delete(self, doc_id: str) -> list[str]:
        """Remove a document; returns its chunk ids (to drop from the vector index)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))]
            lexical.unindex(db, doc_id)
            db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM documents WHERE id=?", (doc_id,))
            self._bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ids

    def rebuild_lexical(self, force: bool = False) -> None:
        """(Re)build the lexical index from the chunk rows in one transaction: a store
        made before it existed gets it on first open; ``check`` finds any disagreement."""
        def rebuild(db: sqlite3.Connection) -> None:
            if force or self.get_info("lexical") != lexical.LAYOUT or self.lexical_problem():
                lexical.rebuild(db)
                self.set_info("lexical", lexical.LAYOUT)

        self._transaction(rebuild)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO info VALUES ('version', '1') ON CONFLICT(key) DO UPDATE "
                   "SET value = CAST(value AS INTEGER) + 1")


def _iso(day: int) -> str:
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"


def _doc(row: tuple[Any, ...]) -> Document:
    return Document(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
