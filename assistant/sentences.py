"""Sentence vectors, computed once at ingest: each sentence of a chunk as it reads in its
chunk (late pooling). The chunk is encoded once for its own vector; the mean of its
sentence's tokens (and of its title's) in that same encoding is the sentence's vector.
Encoding costs nothing more than the chunk's vector did, and the answer-or-refuse
decision (``evidence.py``) reads the vectors instead of embedding sentences per question.

Measured with ``python -m assistant.eval.fit`` (held out by article, 311 questions), the
decision is as good with these vectors as with sentences embedded on their own: answerable
right 0.611 vs 0.587, unanswerable refused 0.813 vs 0.819 (the shipped fit).

An embedder without ``embed_spans`` (an embeddings server) stores none; the decision then
embeds "title: sentence" per question, as before.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from assistant.documents import pack_sentences
from assistant.text import sentence_spans
from assistant.types import Chunk, embedding_text


@runtime_checkable
class SpanEmbedder(Protocol):
    """An embedder that can pool character spans of a text from the text's encoding."""

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                    lead: Sequence[int] | None = None
                    ) -> tuple[list[list[float]], list[list[list[float] | None]]]: ...


def encode(embedder: Any, pairs: Sequence[tuple[str, Chunk]]
           ) -> tuple[list[list[float]], list[bytes | None]]:
    """For each (title, chunk): the chunk's vector, and its sentences' vectors packed for
    the store (None when the embedder cannot pool spans, or the chunk has no sentence)."""
    texts = [embedding_text(title, c) for title, c in pairs]
    if not isinstance(embedder, SpanEmbedder):
        return embedder.embed(texts), [None] * len(pairs)
    spans = [sentence_spans(c.text) for _, c in pairs]
    lead = [len(title) for title, _ in pairs]
    shifted = [[(s + len(t) - len(c.text), e + len(t) - len(c.text)) for s, e in ss]
               for t, (_, c), ss in zip(texts, pairs, spans)]
    vectors, pooled = embedder.embed_spans(texts, shifted, lead)
    blobs: list[bytes | None] = []
    for (_, c), ss, vs in zip(pairs, spans, pooled):
        kept = [((c.start + s, c.start + e), v) for (s, e), v in zip(ss, vs) if v is not None]
        blobs.append(pack_sentences([k for k, _ in kept], [v for _, v in kept])
                     if kept else None)
    return vectors, blobs
