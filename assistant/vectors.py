"""The vector index: a Chroma collection (embedded on disk, or a `chroma run` server) used
as a plain index of chunk vectors. We always pass embeddings, so Chroma's own embedding
function (which would download a model) is never used. Every Chroma failure becomes one
``StoreError`` line that says what to do."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlparse

from assistant.embedder import Embedder, same_model
from assistant.errors import AssistantError, EmbedderMismatch, StoreError
from assistant.settings import Settings


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    similarity: float  # cosine similarity, 1.0 = same direction
    day: int = 0  # its document's publication day number (0: undated)
    uri: str = ""  # its document's uri


class VectorIndex:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.where = settings.chroma_url or str(settings.home / "chroma")
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        with self._guard("open"):
            if settings.chroma_url:
                u = urlparse(settings.chroma_url)
                self.client: Any = chromadb.HttpClient(
                    host=u.hostname or "127.0.0.1", port=u.port or 8000,
                    ssl=u.scheme == "https", settings=chroma_settings)
                self.client.heartbeat()
            else:
                from chromadb.api.client import SharedSystemClient

                # A failed start stays cached per path; forget it before trying again.
                self.client = _retry_race(lambda: chromadb.PersistentClient(
                    path=self.where, settings=chroma_settings),
                    SharedSystemClient.clear_system_cache)
            self.col = self._collection(settings.collection, embedder)
        meta = self.col.metadata or {}
        if not same_model(meta.get("embedder"), embedder.name):
            raise EmbedderMismatch(
                f"the index {settings.collection!r} was built with embedder "
                f"{meta.get('embedder')!r} (dim {meta.get('dim')}), not {embedder.name!r}; "
                "use the same embedding settings, or another ASSISTANT_HOME or collection")

    def _collection(self, name: str, embedder: Embedder) -> Any:
        """Get or create, idempotent when several processes open a fresh home at once."""
        meta = {"hnsw:space": "cosine", "embedder": embedder.name, "dim": embedder.dim}
        return _retry_race(lambda: self.client.get_or_create_collection(
            name, embedding_function=None, metadata=meta))

    @contextmanager
    def _guard(self, op: str) -> Iterator[None]:
        try:
            yield
        except AssistantError:
            raise
        except Exception as e:
            reason = " ".join(f"{type(e).__name__}: {e}".split())[:200]
            hint = ("is the server running (`chroma run`)?" if op == "open" else
                    "check the Chroma server and run the command again; the next write "
                    "repairs what was interrupted")
            raise StoreError(f"Chroma at {self.where} failed during {op} ({reason}); "
                             f"{hint}") from None

    def close(self) -> None:
        """Release the client; embedded Chroma stops when its last client in the process
        closes (its files are shared, reference-counted, by every store on this path)."""
        close = getattr(self.client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # already closed, or a server gone: nothing left to release
                pass

    def upsert(self, ids: list[str], vectors: list[list[float]],
               metas: list[dict[str, Any]]) -> None:
        step = 1000
        with self._guard("upsert"):
            for i in range(0, len(ids), step):
                self.col.upsert(ids=ids[i:i + step], embeddings=vectors[i:i + step],
                                metadatas=metas[i:i + step])

    def update_meta(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Replace the metadata of existing vectors (ids missing from the index are
        skipped by Chroma)."""
        if items:
            with self._guard("metadata update"):
                self.col.update(ids=[i for i, _ in items], metadatas=[m for _, m in items])

    def delete(self, ids: list[str]) -> None:
        with self._guard("delete"):
            for i in range(0, len(ids), 1000):
                self.col.delete(ids=ids[i:i + 1000])

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        with self._guard("listing"):
            while True:
                got = self.col.get(include=[], limit=5000, offset=offset)["ids"]
                out.update(got)
                if len(got) < 5000:
                    return out
                offset += len(got)

    def count(self) -> int:
        with self._guard("count"):
            return int(self.col.count())

    def query(self, vector: list[float], k: int,
              where: dict[str, Any] | None = None) -> list[VectorHit]:
        if k < 1:
            return []
        with self._guard("query"):  # Chroma returns fewer when it holds fewer than k
            r = self.col.query(query_embeddings=[vector], n_results=k, where=where,
                               include=["distances", "metadatas"])
        metas = r["metadatas"][0] or [None] * len(r["ids"][0])
        return [VectorHit(cid, 1.0 - float(d), int((m or {}).get("day") or 0),
                          str((m or {}).get("uri", "")))
                for cid, d, m in zip(r["ids"][0], r["distances"][0], metas)]


def _retry_race(make: Any, reset: Any = None) -> Any:
    """``make()``, again when it lost a race with another process opening the same fresh
    home: Chroma's schema, or the collection, was being created at the same moment (its
    SQLite file is locked meanwhile)."""
    for attempt in range(20):
        try:
            return make()
        except Exception as e:
            raced = "already exists" in str(e) or "database is locked" in str(e)
            if not raced or attempt == 19:
                raise
            if reset is not None:
                reset()
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
