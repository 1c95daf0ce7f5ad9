"""What the store needs of a document store: the interface behind which the SQLite file
(``docstore.DocStore``) sits, so that a server database (PostgreSQL with its full-text
search, for several machines sharing one collection) can take its place.

Its contract: documents, their chunk spans (each with its sentences' vectors, when the
embedder gives them), the write journal and the lexical index change together in one
transaction (``commit`` of a batch of documents: all of them or none; ``delete``);
``version`` changes with every such change; every read sees the last commit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from assistant.types import Chunk, DocRecord, Document, Filters

Span = tuple[str, int, int]  # (doc_id, start, end)
ChunkRow = tuple[str, int, int, int | None]  # (doc_id, start, end, page)
# (uri, title, published, text[start:end], url): a span's text with its document's listing
Passage = tuple[str, str, str | None, str, str | None]


def pack_sentences(spans: Sequence[tuple[int, int]], vectors: Sequence[Sequence[float]]
                   ) -> bytes:
    """A chunk's sentence vectors as stored beside its row: the dimension, the (start,
    end) of each sentence in its document, then the vectors in float16 (a cosine to
    within about 0.001, half the bytes of float32)."""
    import numpy as np

    dim = len(vectors[0]) if vectors else 0
    return (struct.pack("<ii", len(spans), dim) + np.asarray(spans, "<i4").tobytes() +
            np.asarray(vectors, "<f2").tobytes())


def unpack_sentences(blob: bytes) -> dict[int, tuple[int, Any]]:
    """start -> (end, float32 vector) of the sentences ``pack_sentences`` stored."""
    import numpy as np

    n, dim = struct.unpack_from("<ii", blob)
    spans = np.frombuffer(blob, "<i4", 2 * n, 8).reshape(n, 2)
    vecs = np.frombuffer(blob, "<f2", n * dim, 8 + 8 * n).reshape(n, dim).astype(np.float32)
    return {int(s): (int(e), v) for (s, e), v in zip(spans, vecs)}


@dataclass(frozen=True)
class Write:
    """One document for ``DocumentStore.commit``: it replaces whatever its uri held."""

    doc: Document
    chunks: list[Chunk]
    pages: list[int | None]  # each chunk's page, where the document has pages
    source_hash: str
    sentences: Sequence[bytes | None] | None = None  # each chunk's ``pack_sentences``

    def blobs(self) -> list[bytes | None]:
        return list(self.sentences or [None] * len(self.chunks))


def kept(writes: Sequence[Write]) -> set[str]:
    """The chunk ids stored once ``writes`` are committed (a uri written twice keeps its
    last write): those of the replaced chunk ids that stay in the vector index."""
    return {c.id for w in {w.doc.uri: w for w in writes}.values() for c in w.chunks}


@runtime_checkable
class DocumentStore(Protocol):
    path: Path

    # --- bookkeeping
    def get_info(self, key: str) -> str | None: ...
    def set_info(self, key: str, value: str) -> None: ...
    def version(self) -> int: ...
    def count(self) -> tuple[int, int]: ...  # (documents, chunks)
    def close(self) -> None: ...

    # --- documents and chunks
    def get(self, doc_id: str) -> Document | None: ...
    def get_by_uri(self, uri: str) -> Document | None: ...
    def source_hash(self, uri: str) -> str | None: ...
    def uri_of(self, doc_id: str) -> str | None: ...
    def records(self, uri_prefix: str | None = None) -> list[DocRecord]: ...
    def origins(self) -> list[tuple[str, str, str]]: ...
    def published_of(self, doc_ids: list[str]) -> dict[str, str | None]: ...
    def passages(self, spans: list[Span]) -> list[Passage | None]: ...
    def text_lengths(self) -> dict[str, int]: ...
    def chunks_of(self, doc: Document) -> list[Chunk]: ...
    def chunk_ids_of(self, doc_id: str) -> list[str]: ...
    def chunk_pages(self, chunk_ids: list[str]) -> dict[str, ChunkRow]: ...
    def chunk_metas(self) -> Iterator[tuple[str, tuple[str, str, int, int, int | None,
                                                       str | None]]]: ...
    def iter_chunks(self) -> Iterator[tuple[str, str, int, int]]: ...
    def share(self, filters: Filters) -> float: ...

    # --- sentence vectors (``pack_sentences``), one value per chunk row
    def sentence_vectors(self, spans: list[Span]) -> list[list[bytes]]: ...
    def chunks_without_sentences(self) -> list[str]: ...
    def set_sentences(self, rows: list[tuple[str, bytes]]) -> None: ...

    # --- lexical index (kept in the same transactions as the chunks)
    def lexical_search(self, words: list[str], n: int,
                       filters: Filters | None = None) -> list[tuple[str, float]]: ...
    def lexical_problem(self) -> str | None: ...
    def rebuild_lexical(self, force: bool = False) -> None: ...

    # --- writes and the journal
    def begin(self, entries: list[tuple[str, str, list[str]]]) -> None: ...
    def pending(self) -> list[tuple[str, str, list[str]]]: ...
    def end(self, doc_ids: list[str]) -> None: ...
    def commit(self, writes: Sequence[Write]) -> list[str]: ...  # the chunk ids replaced
    def touch(self, uri: str, source_hash: str) -> None: ...
    def delete(self, doc_id: str) -> list[str]: ...
