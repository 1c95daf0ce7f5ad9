"""Lexical index: SQLite FTS5 (ours, incremental) against a bm25s index rebuilt from every
chunk (what this project used before), on the RealTime QA questions over the full corpus.

    python -m assistant.eval.results --only full   # builds eval/out/full/home once
    python benchmarks/lexical_bench.py [--home eval/out/full/home] [--json]

For each question asked as of its own date, both indexes rank chunks; the ranked chunks'
articles give Hit@4 (lexical alone, and fused with dense search as ``Assistant.search``
does). Also prints the query latency (median, p95) of each and the time to build each
index from scratch. FTS5 runs once per (``lexical.COMMON_SHARE``, ``POSTINGS_BUDGET``) in
SETTINGS, then with the shipped values restored.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# (lexical.COMMON_SHARE, lexical.POSTINGS_BUDGET) settings compared
SETTINGS = ((1.0, 10**9), (0.25, 10**9), (0.1, 10**9), (0.05, 10**9), (0.02, 10**9),
            (0.1, 20_000), (0.1, 10_000), (0.1, 5_000))
sys.path.insert(0, str(ROOT))


class Bm25s:
    """The previous lexical index: bm25s over title + chunk text, built in memory."""

    def __init__(self, store: Any) -> None:
        import bm25s

        self.ids, texts, doc = [], [], None
        for cid, doc_id, start, end in store.iter_chunks():
            if doc is None or doc.id != doc_id:
                doc = store.find(doc_id)
            self.ids.append(cid)
            texts.append(f"{doc.title}\n{doc.text[start:end]}")
        t = time.perf_counter()
        self.index = bm25s.BM25()
        self.index.index(self.tokenize(texts), show_progress=False)
        self.build_s = time.perf_counter() - t
        self.published = {r.id: r.published for r in store.records()}
        self.doc_of = {cid: d for cid, d, _, _ in store.iter_chunks()}

    @staticmethod
    def tokenize(texts: list[str]) -> Any:
        import bm25s
        import Stemmer

        return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                              show_progress=False, return_ids=False)

    def search(self, query: str, n: int, filters: Any = None) -> list[tuple[str, float]]:
        tokens = self.tokenize([query])
        if not tokens[0]:
            return []
        docs, scores = self.index.retrieve(tokens, k=min(10 * n, len(self.ids)),
                                           show_progress=False)
        out = []
        for i, s in zip(docs[0], scores[0]):
            cid = self.ids[int(i)]
            day = self.published.get(self.doc_of[cid])
            if s > 0 and (filters is None or not day or day <= filters.as_of):
                out.append((cid, float(s)))
        return out[:n]


class WithLexical:
    """A store whose lexical search is another index's (for the fused comparison)."""

    def __init__(self, store: Any, lexical: Any) -> None:
        self._store, self._lexical = store, lexical

    def lexical_search(self, query: str, k: int, filters: Any = None) -> Any:
        return self._lexical(query, k, filters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def label(share: float, budget: int) -> str:
    return f"fts5 share {share:g}" + (f" budget {budget}" if budget < 10**9 else "")


def hit4(uris: list[str], gold: list[str]) -> float:
    firsts = list(dict.fromkeys(uris))[:4]
    return float(any(u in gold for u in firsts))


def main() -> None:
    from assistant import Assistant
    from assistant import lexical as fts
    from assistant.eval.datasets import load_realtimeqa
    from assistant.retrieval import HybridRetriever
    from assistant.types import Filters

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, default=ROOT / "eval" / "out" / "full" / "home")
    ap.add_argument("--data", type=Path,
                    default=ROOT.parent / "shared" / "eval" / "realtimeqa")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    ds = load_realtimeqa(args.data)
    with Assistant(home=args.home) as a:
        store = a.store
        indexed = {r.uri for r in store.records()}
        questions = [(q, [u for u in q.gold_uris if u in indexed]) for q in ds.questions]
        questions = [(q, g) for q, g in questions if g]
        t = time.perf_counter()
        store.rebuild_lexical()
        fts_build = time.perf_counter() - t
        old = Bm25s(store)
        uri_of = {cid: u for cid, u in ((c, store.uri_of(d)) for c, d in old.doc_of.items())}
        a.search("warm up", k=1)
        result: dict[str, Any] = {"questions": len(questions), "chunks": len(old.ids),
                                  "build_s": {"fts5": round(fts_build, 2),
                                              "bm25s": round(old.build_s, 2)},
                                  "shipped": label(fts.COMMON_SHARE, fts.POSTINGS_BUDGET)}
        shipped = fts.COMMON_SHARE, fts.POSTINGS_BUDGET
        runs = [(label(*c), c, store.lexical_search) for c in SETTINGS]
        for name, setting, lexical in runs + [("bm25s", None, old.search)]:
            if setting is not None:
                fts.COMMON_SHARE, fts.POSTINGS_BUDGET = setting
            lex_hits, fused_hits, ms = [], [], []
            retriever = HybridRetriever(WithLexical(store, lexical))
            for q, gold in questions:
                f = Filters(as_of=q.date)
                t = time.perf_counter()
                ranked = lexical(q.question, 40, f)
                ms.append((time.perf_counter() - t) * 1000)
                lex_hits.append(hit4([uri_of[c] for c, _ in ranked], gold))
                fused_hits.append(hit4([h.uri for h in retriever.search(q.question, 10, f)],
                                       gold))
            fts.COMMON_SHARE, fts.POSTINGS_BUDGET = shipped
            ms.sort()
            result[name] = {"lexical_hit@4": round(statistics.mean(lex_hits), 3),
                            "fused_hit@4": round(statistics.mean(fused_hits), 3),
                            "query_p50_ms": round(statistics.median(ms), 2),
                            "query_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['questions']} questions, {result['chunks']} chunks")
    for name in [label(*c) for c in SETTINGS] + ["bm25s"]:
        r = result[name]
        print(f"{name:28} lexical Hit@4 {r['lexical_hit@4']:.3f}  fused Hit@4 "
              f"{r['fused_hit@4']:.3f}  query p50 {r['query_p50_ms']:.1f} ms  p95 "
              f"{r['query_p95_ms']:.1f} ms  build {result['build_s'][name.split()[0]]:.1f} s")


if __name__ == "__main__":
    main()
