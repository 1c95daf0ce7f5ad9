"""The read side's first step: question -> ranked chunks (``Hit``).

Dense (Chroma cosine) and lexical (BM25 by SQLite FTS5, kept in the document store's own
transactions) rankings are fused by reciprocal rank; hits that overlap or touch in the
same document are merged into one span. Filters (uri prefix, published date range) are
applied inside both indexes; hits carry only their spans' text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Protocol

from assistant.errors import ConfigError
from assistant.question import time_window, wants_recent
from assistant.store import Store
from assistant.types import Chunk, Filters, Hit, content_hash

RRF_K = 60  # the usual reciprocal-rank-fusion constant
RECENCY_FILE = Path(__file__).with_name("recency_params.json")


@dataclass(frozen=True)
class Recency:
    """How publication dates move the fused ranking, fitted by ``python -m
    assistant.eval.fit --recency``: a chunk whose article falls in the question's own time
    window ("this week") gains ``window_boost``; every dated article gains a share of
    ``recent_boost`` (questions asking for the latest news) or ``tie_boost`` (any other)
    that halves every ``half_life_days`` of age. Undated articles gain nothing."""

    window_boost: float
    recent_boost: float
    tie_boost: float
    half_life_days: float

    @classmethod
    def load(cls, path: Path = RECENCY_FILE) -> Recency:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["window_boost"], raw["recent_boost"], raw["tie_boost"],
                   raw["half_life_days"])

    def scorer(self, query: str, as_of: str) -> Callable[[str | None], float]:
        """The bonus of an article published on a given day (None: undated) for
        ``query`` asked as of ``as_of``."""
        window = time_window(query, as_of)
        strength = self.recent_boost if wants_recent(query) else self.tie_boost
        today = date.fromisoformat(as_of)

        def bonus(published: str | None) -> float:
            if not published or published > as_of:
                return 0.0
            age = (today - date.fromisoformat(published)).days
            inside = window is not None and window[0] <= published <= window[1]
            return self.window_boost * inside + strength * 0.5 ** (age / self.half_life_days)

        return bonus


@dataclass(frozen=True)
class Pool:
    """A query's candidate chunks before dates are weighed: fused rank scores, dense
    similarities, chunk rows (doc_id, start, end, page) and publication days by doc."""

    fused: dict[str, float]
    similarity: dict[str, float]
    rows: dict[str, tuple[str, int, int, int | None]]
    published: dict[str, str | None]


class Retriever(Protocol):
    """Ranked passages for a query: at most ``k`` hits, best first, each carrying its
    scores (``Hit.score``, and ``Hit.similarity`` when the retriever measures one)."""

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]: ...


class HybridRetriever:
    """Dense + BM25 fused by reciprocal rank; neighbours merged; filters applied."""

    def __init__(self, store: Store, candidates: int = 30,
                 recency: Recency | None = None) -> None:
        self.store = store
        self.candidates = candidates
        self.recency = recency or Recency.load()

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        return self.rank(query, self.pool(query, k, filters), k,
                         (filters.as_of if filters else None) or date.today().isoformat())

    def pool(self, query: str, k: int, filters: Filters | None = None) -> Pool:
        """The candidate chunks of dense and lexical search, fused by reciprocal rank."""
        n = max(self.candidates, 3 * k)
        dense = [(h.chunk_id, h.similarity) for h in
                 self.store.vector_search(query, n, filters)]
        lexical = self.store.lexical_search(query, n, filters)
        rows = self.store.chunk_rows(list(dict.fromkeys(c for c, _ in dense + lexical)))
        dense = [(c, s) for c, s in dense if c in rows]  # only committed chunks count
        lexical = [(c, s) for c, s in lexical if c in rows]
        fused: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        published = self.store.published_of(sorted({rows[c][0] for c in fused}))
        return Pool(fused, dict(dense), rows, published)

    def rank(self, query: str, pool: Pool, k: int, as_of: str) -> list[Hit]:
        """The pool ranked with the dates (the question's own time window, and newer
        articles among near-ties), merged into at most k spans."""
        bonus = self.recency.scorer(query, as_of)
        score = {c: s + bonus(pool.published.get(pool.rows[c][0]))
                 for c, s in pool.fused.items()}
        ranked = sorted(score, key=lambda c: -score[c])
        return self._merge([(c, score[c], pool.similarity.get(c)) for c in ranked],
                           pool.rows, k)

    def _merge(self, ranked: list[tuple[str, float, float | None]],
               rows: dict[str, tuple[str, int, int, int | None]], k: int) -> list[Hit]:
        """Merge overlapping or touching chunks of a document into one span, keeping the
        best score, until k spans are chosen."""
        spans: list[list[Any]] = []  # [doc_id, start, end, score, page, similarity]
        for cid, score, sim in ranked:
            doc_id, start, end, page = rows[cid]
            for s in spans:
                if s[0] == doc_id and start <= s[2] + 1 and end >= s[1] - 1:
                    s[1], s[2] = min(s[1], start), max(s[2], end)
                    if sim is not None:
                        s[5] = max(s[5] if s[5] is not None else -1.0, sim)
                    break
            else:
                if len(spans) < k:
                    spans.append([doc_id, start, end, score, page, sim])
        found = self.store.passages([(d, s, e) for d, s, e, *_ in spans])
        hits = []
        for (doc_id, start, end, score, page, sim), passage in zip(spans, found):
            if passage is None:  # removed since the search
                continue
            uri, title, published, text, url = passage
            chunk = Chunk(content_hash(doc_id, str(start), str(end)), doc_id, start, end, text)
            hits.append(Hit(chunk, score, uri, title, published, page, sim, url))
        return hits


def as_langchain_retriever(retriever: Retriever, k: int = 6,
                           filters: Filters | None = None) -> Any:
    """The retriever as a LangChain ``BaseRetriever`` for users' own chains."""
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document as LCDocument
    from langchain_core.retrievers import BaseRetriever

    class AssistantRetriever(BaseRetriever):
        """Hybrid dense + BM25 retrieval over the assistant's index."""

        def _get_relevant_documents(self, query: str, *,
                                    run_manager: CallbackManagerForRetrieverRun
                                    ) -> list[LCDocument]:
            return [LCDocument(page_content=h.chunk.text, metadata={
                "doc_id": h.chunk.doc_id, "uri": h.uri, "title": h.title, "start":
                h.chunk.start, "end": h.chunk.end, "score": h.score, "published": h.published})
                for h in retriever.search(query, k, filters)]

    return AssistantRetriever()

