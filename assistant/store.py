"""The store: whole documents (SQLite, see docstore.py) plus chunk vectors (Chroma).

Write protocol for one document, safe against a kill at any point:
  1. journal the new chunk ids (SQLite)        -- intent
  2. upsert the chunk vectors (Chroma)          -- invisible: no committed row points at them
  3. commit the document and its chunk rows     -- one SQLite transaction: now it exists
  4. delete the replaced chunk vectors (Chroma), then clear the journal entry.
``Store.recover()`` (run on open) finishes or undoes whatever a killed run left in the
journal, so every stored document has all its chunks and no vector is orphaned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.docstore import DocRecord, DocStore
from assistant.embedder import Embedder
from assistant.errors import EmbedderMismatch, NotFound, StoreError
from assistant.settings import Settings
from assistant.types import Chunk, Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    similarity: float  # cosine similarity, 1.0 = same direction


class VectorIndex:
    """A Chroma collection used as a plain vector index (we always pass embeddings, so
    Chroma's own embedding function, which would download a model, is never used)."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if settings.chroma_url:
                u = urlparse(settings.chroma_url)
                self.client: Any = chromadb.HttpClient(
                    host=u.hostname or "127.0.0.1", port=u.port or 8000,
                    ssl=u.scheme == "https", settings=chroma_settings)
                self.client.heartbeat()
            else:
                self.client = chromadb.PersistentClient(path=str(settings.home / "chroma"),
                                                        settings=chroma_settings)
            names = {getattr(c, "name", c) for c in self.client.list_collections()}
            if settings.collection in names:
                self.col = self.client.get_collection(settings.collection,
                                                      embedding_function=None)
            else:
                self.col = self.client.create_collection(
                    settings.collection, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "embedder": embedder.name,
                              "dim": embedder.dim})
        except Exception as e:
            where = settings.chroma_url or settings.home / "chroma"
            raise StoreError(f"cannot open Chroma at {where}: {e}; is the server running "
                             "(`chroma run`) and the collection name valid?") from None
        meta = self.col.metadata or {}
        if meta.get("embedder") != embedder.name:
            raise EmbedderMismatch(
                f"the index {settings.collection!r} was built with embedder "
                f"{meta.get('embedder')!r} (dim {meta.get('dim')}), not {embedder.name!r}; "
                "use the same embedding settings, or another ASSISTANT_HOME or collection")

    def upsert(self, ids: list[str], vectors: list[list[float]],
               metas: list[dict[str, Any]]) -> None:
        step = 1000
        for i in range(0, len(ids), step):
            self.col.upsert(ids=ids[i:i + step], embeddings=vectors[i:i + step],
                            metadatas=metas[i:i + step])

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self.col.delete(ids=ids[i:i + 1000])

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            got = self.col.get(include=[], limit=5000, offset=offset)["ids"]
            out.update(got)
            if len(got) < 5000:
                return out
            offset += len(got)

    def count(self) -> int:
        return int(self.col.count())

    def query(self, vector: list[float], k: int,
              where: dict[str, Any] | None = None) -> list[VectorHit]:
        n = min(k, self.count())
        if n == 0:
            return []
        r = self.col.query(query_embeddings=[vector], n_results=n, where=where,
                           include=["distances"])
        return [VectorHit(cid, 1.0 - float(d))
                for cid, d in zip(r["ids"][0], r["distances"][0])]


class Store:
    """Documents + vectors, kept consistent. The only writer of either."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        home: Path = settings.home
        home.mkdir(parents=True, exist_ok=True)
        name = settings.collection if not settings.chroma_url else (
            f"{settings.collection}@{settings.chroma_url}")
        self.docs = DocStore(home / f"documents-{_safe(name)}.sqlite")
        recorded = self.docs.get_info("embedder")
        if recorded and recorded != embedder.name:
            raise EmbedderMismatch(
                f"{home}: documents were indexed with embedder {recorded!r}, not "
                f"{embedder.name!r}; use the same embedding settings or another ASSISTANT_HOME")
        self.docs.set_info("embedder", embedder.name)
        self.vectors = VectorIndex(settings, embedder)
        self.recover()

    def close(self) -> None:
        self.docs.close()

    # --- writes -------------------------------------------------------------------------
    def put(self, doc: Document, chunks: list[Chunk], vectors: list[list[float]],
            source_hash: str) -> None:
        """Store ``doc`` (replacing what its uri held) with its chunks, atomically."""
        pages = [doc.page_at(c.start) for c in chunks]
        ids = [c.id for c in chunks]
        self.docs.begin(doc.id, doc.uri, ids)
        metas = [{"doc_id": doc.id, "uri": doc.uri, "start": c.start, "end": c.end,
                  **({"page": p} if p else {}), **({"published": doc.published}
                                                   if doc.published else {})}
                 for c, p in zip(chunks, pages)]
        self.vectors.upsert(ids, vectors, metas)
        stale = self.docs.commit(doc, chunks, pages, source_hash)
        self.vectors.delete(stale)
        self.docs.end(doc.id)

    def remove(self, id_or_uri: str) -> Document:
        doc = self.docs.get(id_or_uri) or self.docs.get_by_uri(id_or_uri)
        if doc is None:
            raise NotFound(f"no document with id or uri {id_or_uri!r}; "
                           "`assistant sources` lists what is stored")
        self.vectors.delete(self.docs.delete(doc.id))
        return doc

    def recover(self) -> int:
        """Repair what an interrupted write left behind. Returns entries repaired."""
        pending = self.docs.pending()
        for doc_id, uri, chunk_ids in pending:
            committed = {c.id for c in self.docs.chunks_of(doc_id)} if self.docs.get(
                doc_id) else set()
            # Vectors written for a commit that never happened are orphans: drop them.
            self.vectors.delete([c for c in chunk_ids if c not in committed])
            if committed:
                # The commit happened; stale vectors of the replaced version may remain.
                self._drop_vectors_without_rows()
            self.docs.end(doc_id)
            log.info("recovered interrupted write of %s", uri)
        return len(pending)

    def _drop_vectors_without_rows(self) -> None:
        rows = {cid for cid, *_ in self.docs.iter_chunks()}
        self.vectors.delete([v for v in self.vectors.ids() if v not in rows])

    # --- reads --------------------------------------------------------------------------
    def get(self, doc_id: str) -> Document:
        doc = self.docs.get(doc_id)
        if doc is None:
            raise NotFound(f"no document with id {doc_id!r}; `assistant sources` lists them")
        return doc

    def records(self) -> list[DocRecord]:
        return self.docs.records()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
