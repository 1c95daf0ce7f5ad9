"""The store: whole documents (SQLite, see docstore.py) plus chunk vectors (Chroma).

Write protocol for one document, safe against a kill at any point:
  1. journal the new chunk ids (SQLite)        -- intent
  2. upsert the chunk vectors (Chroma)          -- invisible: no committed row points at them
  3. commit the document and its chunk rows     -- one SQLite transaction: now it exists
     (each row with its sentences' vectors, ``sentences.py``)
  4. delete the replaced chunk vectors (Chroma), then clear the journal entry.

One writer at a time: every write runs under the home's write lock (``writing()``: an
flock shared by all processes on the machine, plus a thread lock). Whoever takes the lock
first repairs what a killed writer left in the journal (``recover()``): a journal entry
seen by the lock holder can only belong to a writer that is gone. Readers never repair.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from assistant.check import CheckReport
from assistant.docstore import DocStore
from assistant.documents import DocumentStore, Passage, Span, Write
from assistant.embedder import Embedder, same_model
from assistant.errors import EmbedderMismatch, NotFound
from assistant.lock import WriteLock
from assistant.settings import Settings
from assistant.text import search_terms
from assistant.sentences import SpanEmbedder, encode
from assistant.types import Chunk, DocRecord, Document, Filters, day_number
from assistant.vectors import VectorHit, VectorIndex

log = logging.getLogger(__name__)
# The share of documents passing a filter above which dense search filters its own
# results rather than asking Chroma to. Chroma's filtered query costs grow with the rows
# that pass (10k vectors here: 30-50 ms filtered against 4 ms plain); asking for
# 2/share times more neighbours costs little. Not fitted: at 1M chunks an as-of filter
# passing half the collection took 58 ms this way (benchmarks/scale.py).
POST_FILTER_SHARE = 0.2
VECTOR_META = "day-1"  # the vector metadata layout; an older store is migrated on open

__all__ = ["CheckReport", "Store", "VectorHit"]


class Store:
    """Documents + vectors, kept consistent: the only door to either."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self._embedder = embedder
        home: Path = settings.home
        home.mkdir(parents=True, exist_ok=True)
        name = settings.collection if not settings.chroma_url else (
            f"{settings.collection}@{settings.chroma_url}")
        self._docs: DocumentStore
        if settings.database_url:  # shared by every replica using the same vectors
            from assistant.pgstore import PgDocStore

            shared = settings.collection if settings.chroma_url else f"{name}@{home}"
            self._docs = PgDocStore(settings.database_url, shared,
                                    home / f"postgres-{_safe(name)}")
        else:
            self._docs = DocStore(home / f"documents-{_safe(name)}.sqlite")
        recorded = self._docs.get_info("embedder")
        if recorded and not same_model(recorded, embedder.name):
            raise EmbedderMismatch(
                f"{home}: documents were indexed with embedder {recorded!r}, not "
                f"{embedder.name!r}; use the same embedding settings or another ASSISTANT_HOME")
        self._vector_index: VectorIndex | None = None  # opened on first use (chromadb is
        self._opening = threading.Lock()               # 0.4 s to import: `sources` needs none)
        self._lock = self._write_lock()
        if settings.chroma_url:
            _ = self._vectors  # a Chroma server that is down is one line now, not mid-question
        if not recorded or self._docs.get_info("vector_meta") != VECTOR_META:
            with self.writing():
                if not recorded:
                    self._docs.set_info("embedder", embedder.name)
                self._migrate_vector_meta()

    def _write_lock(self) -> WriteLock:
        """An flock beside the SQLite file; PostgreSQL's advisory lock for its store."""
        timeout = self.settings.write_lock_timeout
        if self.settings.database_url:
            from assistant.pglock import AdvisoryLock
            from assistant.pgstore import PgDocStore

            assert isinstance(self._docs, PgDocStore)
            return AdvisoryLock(self._docs, timeout, self.recover)
        return WriteLock(self._docs.path.with_suffix(".lock"), timeout, self.recover)

    @property
    def _vectors(self) -> VectorIndex:
        with self._opening:
            if self._vector_index is None:
                self._vector_index = VectorIndex(self.settings, self._embedder)
            return self._vector_index

    def rebuild_lexical(self) -> None:
        """Rebuild the lexical index from the chunk rows (``repair`` does it when ``check``
        finds a disagreement; benchmarks time it)."""
        with self.writing():
            self._docs.rebuild_lexical(force=True)

    def _migrate_vector_meta(self) -> None:
        """Give vectors written by an older version the metadata filters need now (their
        publication day), from the chunk rows; idempotent, run once per store."""
        if self._docs.get_info("vector_meta") == VECTOR_META:
            return
        batch: list[tuple[str, dict[str, Any]]] = []
        for cid, meta in self._docs.chunk_metas():
            batch.append((cid, _meta_of(*meta)))
            if len(batch) == 1000:
                self._vectors.update_meta(batch)
                batch = []
        self._vectors.update_meta(batch)
        self._docs.set_info("vector_meta", VECTOR_META)

    @property
    def path(self) -> Path:
        """The document database; derived indexes live beside it."""
        return self._docs.path

    def close(self) -> None:
        with self._opening:
            if self._vector_index is not None:
                self._vector_index.close()
                self._vector_index = None
        self._docs.close()

    # --- writes (all under the write lock) ---------------------------------------------
    def writing(self, on_wait: Callable[[str], None] | None = None) -> Any:
        """Hold the write lock for a series of writes (re-entrant). Taking it first
        repairs what a killed writer left behind."""
        return self._lock.held(on_wait)

    def put(self, doc: Document, chunks: list[Chunk], vectors: list[list[float]],
            source_hash: str) -> None:
        """Store ``doc`` (replacing what its uri held) with its chunks, atomically."""
        self.put_many([(doc, chunks, vectors, source_hash)])

    def put_many(self, items: list[tuple[Document, list[Chunk], list[list[float]], str]],
                 sentences: list[list[bytes | None]] | None = None) -> None:
        """Store several (document, chunks, vectors, source hash) at once: one journal
        write and one vector upsert for all (the vector index's cost is per call), then
        one atomic commit of them all, with their chunks' packed sentence vectors
        (``sentences.encode``) when given."""
        if not items:
            return
        blobs = sentences or [[None] * len(chunks) for _, chunks, _, _ in items]
        pages = [[doc.page_at(c.start) for c in chunks] for doc, chunks, _, _ in items]
        with self.writing():
            self._docs.begin([(doc.id, doc.uri, [c.id for c in chunks])
                              for doc, chunks, _, _ in items])
            self._vectors.upsert(
                [c.id for _, chunks, _, _ in items for c in chunks],
                [v for _, _, vectors, _ in items for v in vectors],
                [_meta(doc, c, p) for (doc, chunks, _, _), ps in zip(items, pages)
                 for c, p in zip(chunks, ps)])
            self._vectors.delete(self._docs.commit(
                [Write(doc, chunks, ps, h, bs)
                 for (doc, chunks, _, h), ps, bs in zip(items, pages, blobs)]))
            self._docs.end([doc.id for doc, _, _, _ in items])

    def touch(self, uri: str, source_hash: str) -> None:
        """Record a new source hash for an unchanged text (e.g. a re-saved file)."""
        with self.writing():
            self._docs.touch(uri, source_hash)

    def remove(self, id_or_uri: str) -> Document:
        with self.writing():
            doc = self._docs.get(id_or_uri) or self._docs.get_by_uri(id_or_uri)
            if doc is None and not id_or_uri.startswith(("http://", "https://")):
                doc = self._docs.get_by_uri(str(Path(id_or_uri).expanduser().resolve()))
            if doc is None:
                raise NotFound(f"no document with id or uri {id_or_uri!r}; "
                               "`assistant sources` lists what is stored")
            self._vectors.delete(self._docs.delete(doc.id))
        return doc

    def recover(self) -> int:
        """Repair what an interrupted write left behind (runs under the write lock, when
        it is taken). Returns the entries repaired."""
        pending = self._docs.pending()
        replaced = False
        for doc_id, uri, chunk_ids in pending:
            committed = set(self._docs.chunk_ids_of(doc_id))
            # Vectors written for a commit that never happened are orphans: drop them.
            self._vectors.delete([c for c in chunk_ids if c not in committed])
            # When the commit happened, stale vectors of the replaced version may remain.
            replaced = replaced or bool(committed)
            log.info("recovered interrupted write of %s", uri)
        if replaced:
            self._drop_vectors_without_rows()
        self._docs.end([doc_id for doc_id, _, _ in pending])
        return len(pending)

    def _drop_vectors_without_rows(self) -> None:
        rows = {cid for cid, *_ in self._docs.iter_chunks()}
        self._vectors.delete([v for v in self._vectors.ids() if v not in rows])

    # --- consistency ------------------------------------------------------------------
    def check(self) -> CheckReport:
        """Compare chunk rows with vectors and documents with their chunks (read-only)."""
        r = CheckReport()
        rows: dict[str, tuple[str, int, int]] = {
            cid: (d, s, e) for cid, d, s, e in self._docs.iter_chunks()}
        vectors = self._vectors.ids()
        r.chunks, r.vectors = len(rows), len(vectors)
        r.rows_without_vectors = sorted(set(rows) - vectors)
        r.orphan_vectors = sorted(vectors - set(rows))
        lengths = self._docs.text_lengths()
        r.documents = len(lengths)
        with_chunks = {d for d, _, _ in rows.values()}
        r.documents_without_chunks = sorted(set(lengths) - with_chunks)
        r.bad_spans = sorted(cid for cid, (d, s, e) in rows.items()
                             if not 0 <= s < e <= lengths.get(d, -1))
        r.pending_writes = [uri for _, uri, _ in self._docs.pending()]
        r.lexical = self._docs.lexical_problem()
        if isinstance(self._embedder, SpanEmbedder):
            r.rows_without_sentences = self._docs.chunks_without_sentences()
        return r

    def repair(self, on_wait: Callable[[str], None] | None = None) -> CheckReport:
        """Under the write lock: finish interrupted writes, re-embed chunk rows that lack
        a vector or sentence vectors, delete orphan vectors. Documents without chunks need
        a re-ingest."""
        with self.writing(on_wait):
            found = self.check()
            wanted = set(found.rows_without_vectors)
            unsentenced = set(found.rows_without_sentences)
            docs = {d for cid, d, _, _ in self._docs.iter_chunks()
                    if cid in wanted or cid in unsentenced}
            for doc_id in sorted(docs):
                doc = self.get(doc_id)
                chunks = [c for c in self._docs.chunks_of(doc)
                          if c.id in wanted or c.id in unsentenced]
                vectors, blobs = encode(self._embedder, [(doc.title, c) for c in chunks])
                again = [i for i, c in enumerate(chunks) if c.id in wanted]
                self._vectors.upsert([chunks[i].id for i in again], [vectors[i] for i in again],
                                     [_meta(doc, chunks[i], doc.page_at(chunks[i].start))
                                      for i in again])
                self._docs.set_sentences([(c.id, b) for c, b in zip(chunks, blobs)
                                          if b is not None and c.id in unsentenced])
            self._vectors.delete(found.orphan_vectors)
            if found.lexical:
                self._docs.rebuild_lexical()
            after = self.check()
            after.repaired = {"re-embedded": len(found.rows_without_vectors),
                              "orphans deleted": len(found.orphan_vectors),
                              "sentence vectors": len(found.rows_without_sentences)}
            return after

    # --- reads --------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document:
        doc = self._docs.get(doc_id)
        if doc is None:
            raise NotFound(f"no document with id {doc_id!r}; `assistant sources` lists them")
        return doc

    def find(self, doc_id: str) -> Document | None:
        return self._docs.get(doc_id)

    def get_by_uri(self, uri: str) -> Document | None:
        return self._docs.get_by_uri(uri)

    def source_hash(self, uri: str) -> str | None:
        return self._docs.source_hash(uri)

    def uri_of(self, doc_id: str) -> str | None:
        return self._docs.uri_of(doc_id)

    def origins(self) -> list[tuple[str, str, str]]:
        """(id, uri, origin) of every document: the file or URL each came from."""
        return self._docs.origins()

    def records(self, uri_prefix: str | None = None) -> list[DocRecord]:
        return self._docs.records(uri_prefix)

    def published_of(self, doc_ids: list[str]) -> dict[str, str | None]:
        """doc id -> publication date (ISO day) or None."""
        return self._docs.published_of(doc_ids)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        doc = self._docs.get(doc_id)
        return self._docs.chunks_of(doc) if doc else []

    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, tuple[str, int, int, int | None]]:
        """chunk id -> (doc_id, start, end, page) for the ids that are committed."""
        return self._docs.chunk_pages(chunk_ids)

    def iter_chunks(self) -> Iterator[tuple[str, str, int, int]]:
        return self._docs.iter_chunks()

    def sentence_vectors(self, spans: list[Span]) -> list[list[bytes]]:
        """For each (doc_id, start, end): the sentence vectors that ingest stored for the
        chunks overlapping it (``sentences.py``), packed."""
        return self._docs.sentence_vectors(spans) if spans else []

    def document_count(self) -> int:
        return self._docs.count()[0]

    def version(self) -> int:
        """Changes whenever documents are committed or removed (for derived indexes)."""
        return self._docs.version()

    def vector_search(self, query: str, k: int,
                      filters: Filters | None = None) -> list[VectorHit]:
        """The k chunks nearest in meaning to ``query`` within ``filters``. When most
        documents pass the filters, more neighbours are asked for and those outside are
        dropped; otherwise the vector index applies them (its cost grows with the chunks
        that pass, see benchmarks/scale.py)."""
        vector = self._embedder.embed([query])[0]
        if filters is None or filters.empty:
            return self._vectors.query(vector, k)
        share = self._docs.share(filters)
        if share == 0:
            return []
        if share >= POST_FILTER_SHARE:
            want = math.ceil(2 * k / share)
            hits = self._vectors.query(vector, want)
            kept = [h for h in hits if filters.admits(h.day, h.uri)]
            if len(kept) >= k or len(hits) < want:
                return kept[:k]
        lo, hi = filters.days()
        clauses: list[dict[str, Any]] = [{"day": {"$gte": lo}}, {"day": {"$lte": hi}}]
        if filters.uri:  # Chroma has no prefix match: the documents under the prefix
            clauses.append({"doc_id": {"$in": [r.id for r in self._docs.records(filters.uri)]}})
        return self._vectors.query(vector, k, {"$and": clauses})

    def lexical_search(self, query: str, k: int,
                       filters: Filters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the k best chunks for the words of ``query``."""
        return self._docs.lexical_search(search_terms(query), k, filters)

    def passages(self, spans: list[Span]) -> list[Passage | None]:
        """For each (doc_id, start, end): (uri, title, published, text[start:end], url), or
        None when the document is gone; reads only the spans, never whole texts."""
        return self._docs.passages(spans)

    def vector_ids(self) -> set[str]:
        return self._vectors.ids()

    def vector_count(self) -> int:
        return self._vectors.count()

    def pending(self) -> list[str]:
        """Uris of writes in the journal (interrupted, or in progress elsewhere)."""
        return [uri for _, uri, _ in self._docs.pending()]


def _meta(doc: Document, chunk: Chunk, page: int | None) -> dict[str, Any]:
    return _meta_of(doc.id, doc.uri, chunk.start, chunk.end, page, doc.published)


def _meta_of(doc_id: str, uri: str, start: int, end: int, page: int | None,
             published: str | None) -> dict[str, Any]:
    """A vector's metadata: where its chunk is, and its publication day as a number (0:
    undated) so that date filters are one range clause in the vector index."""
    return {"doc_id": doc_id, "uri": uri, "start": start, "end": end,
            "day": day_number(published), **({"page": page} if page else {}),
            **({"published": published} if published else {})}


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
