"""The read side's first step: question -> ranked chunks (``Hit``).

Dense (Chroma cosine) and lexical (BM25 via bm25s, persisted under the home and rebuilt
when the document store changes) rankings are fused by reciprocal rank; hits that overlap
or touch in the same document are merged into one span; filters restrict by uri prefix
and published date range.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Protocol

from assistant.errors import ConfigError
from assistant.question import time_window, wants_recent
from assistant.store import Store
from assistant.types import Chunk, Hit, content_hash

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
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval: ``uri`` is a prefix of the document uri; dates are ISO days."""

    uri: str | None = None
    published_after: str | None = None
    published_before: str | None = None
    as_of: str | None = None  # nothing published after this day; undated documents stay

    def __post_init__(self) -> None:
        for name in ("published_after", "published_before", "as_of"):
            v = getattr(self, name)
            if v is not None and not _DATE.match(v):
                raise ConfigError(f"{name} must be a YYYY-MM-DD date, got {v!r}")

    @property
    def empty(self) -> bool:
        return not (self.uri or self.published_after or self.published_before or self.as_of)


class Retriever(Protocol):
    """Ranked passages for a query: at most ``k`` hits, best first, each carrying its
    scores (``Hit.score``, and ``Hit.similarity`` when the retriever measures one)."""

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]: ...


class LexicalIndex:
    """BM25 over chunk text (with its document's title), persisted per store version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dir = store.path.with_suffix(".bm25")
        self._lock = threading.Lock()
        self._version = -1
        self._bm25: Any = None
        self._ids: list[str] = []

    @staticmethod
    def _tokenize(texts: list[str]) -> list[list[str]]:
        import bm25s
        import Stemmer

        return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                              show_progress=False, return_ids=False)

    def _ensure(self) -> None:
        import bm25s

        version = self.store.version()
        if version == self._version:
            return
        meta = self.dir / "chunk_ids.json"
        if meta.exists():
            saved = json.loads(meta.read_text())
            if saved.get("version") == version:
                self._bm25 = bm25s.BM25.load(str(self.dir), show_progress=False)
                self._ids, self._version = saved["ids"], version
                return
        ids, texts = [], []
        doc = None
        for cid, doc_id, start, end in self.store.iter_chunks():  # ordered by doc
            if doc is None or doc.id != doc_id:
                doc = self.store.find(doc_id)
            if doc is not None:
                ids.append(cid)
                texts.append(f"{doc.title}\n{doc.text[start:end]}")
        self._ids, self._bm25 = ids, None
        if ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(self._tokenize(texts), show_progress=False)
            tmp = self.dir.with_suffix(".bm25.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            self._bm25.save(str(tmp), show_progress=False)
            (tmp / "chunk_ids.json").write_text(json.dumps({"version": version, "ids": ids}))
            shutil.rmtree(self.dir, ignore_errors=True)
            tmp.rename(self.dir)
        self._version = version

    def check(self) -> str | None:
        """Bring the index up to date, then compare it with the chunk rows."""
        with self._lock:
            self._ensure()
            rows = {cid for cid, *_ in self.store.iter_chunks()}
            if set(self._ids) != rows:
                return (f"{len(set(self._ids) - rows)} entries without a chunk row, "
                        f"{len(rows - set(self._ids))} chunk rows missing")
            return None

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        with self._lock:
            self._ensure()
            if self._bm25 is None:
                return []
            tokens = self._tokenize([query])
            if not tokens[0]:
                return []
            docs, scores = self._bm25.retrieve(tokens, k=min(k, len(self._ids)),
                                               show_progress=False)
            return [(self._ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]


class HybridRetriever:
    """Dense + BM25 fused by reciprocal rank; neighbours merged; filters applied."""

    def __init__(self, store: Store, candidates: int = 30,
                 recency: Recency | None = None) -> None:
        self.store = store
        self.lexical = LexicalIndex(store)
        self.candidates = candidates
        self.recency = recency or Recency.load()

    def allowed_docs(self, f: Filters) -> set[str]:
        return {r.id for r in self.store.records(f.uri) if
                (not f.published_after or (r.published or "") >= f.published_after) and
                (not f.published_before or (r.published or "9999") <= f.published_before) and
                (not f.as_of or not r.published or r.published <= f.as_of)}

    def dense(self, query: str, n: int, allowed: set[str] | None) -> list[tuple[str, float]]:
        where = None
        if allowed is not None:
            if not allowed:
                return []
            where = {"doc_id": {"$in": sorted(allowed)}} if len(allowed) > 1 else {
                "doc_id": next(iter(allowed))}
        return [(h.chunk_id, h.similarity) for h in self.store.vector_search(query, n, where)]

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        return self.rank(query, self.pool(query, k, filters), k,
                         (filters.as_of if filters else None) or date.today().isoformat())

    def pool(self, query: str, k: int, filters: Filters | None = None) -> Pool:
        """The candidate chunks of dense and lexical search, fused by reciprocal rank."""
        allowed = None if filters is None or filters.empty else self.allowed_docs(filters)
        n = max(self.candidates, 3 * k)
        dense = self.dense(query, n, allowed)
        rows = self.store.chunk_rows([c for c, _ in dense])
        dense = [(c, s) for c, s in dense if c in rows]  # only committed chunks count
        lexical = self.lexical.search(query, n * (3 if allowed is not None else 1))
        rows.update(self.store.chunk_rows([c for c, _ in lexical if c not in rows]))
        lexical = [(c, s) for c, s in lexical if c in rows and (
            allowed is None or rows[c][0] in allowed)][:n]
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
        hits = []
        for doc_id, start, end, score, page, sim in spans:
            doc = self.store.find(doc_id)
            if doc is None:
                continue
            chunk = Chunk(content_hash(doc_id, str(start), str(end)), doc_id, start, end,
                          doc.text[start:end])
            hits.append(Hit(chunk, score, doc.uri, doc.title, doc.published, page, sim))
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

