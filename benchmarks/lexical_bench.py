"""Lexical index: SQLite FTS5 (ours, incremental) against a bm25s index rebuilt from every
chunk (what this project used before), on the RealTime QA questions over the full corpus.

    python -m assistant.eval.results --only full   # builds eval/out/full/home once
    python benchmarks/lexical_bench.py [--home eval/out/full/home] [--json]
    python benchmarks/lexical_bench.py --home DIR --build --database postgresql://...

For each question asked as of its own date, both indexes rank chunks; the ranked chunks'
articles give Hit@4 (lexical alone, and fused with dense search as ``Assistant.search``
does). Also prints the query latency (median, p95) of each and the time to build each
index from scratch. FTS5 runs once per (``lexical.COMMON_SHARE``, ``POSTINGS_BUDGET``) in
SETTINGS, then with the shipped values restored.

``--build`` ingests the RealTime QA corpus into ``--home`` when it holds nothing yet.
``--database URL`` copies the home's documents and chunk rows into PostgreSQL (the vectors
stay the home's Chroma collection, which both stores then read) and ranks the same
questions with PostgreSQL's lexical index beside FTS5's, the two alternating question by
question (``postgresql`` in the output; its p50 next to ``fts5 shipped``'s).
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


def build_home(home: Path, data: Path) -> None:
    """Ingest every RealTime QA article into ``home`` (as the harness's full run does)."""
    from assistant import Assistant
    from assistant.eval.datasets import load_realtimeqa

    corpus = home.parent / f"{home.name}-corpus.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(json.dumps(a) + "\n" for a in load_realtimeqa(data).corpus
                              if "url" in a), encoding="utf-8")
    with Assistant(home=home) as a:
        print(a.ingest([corpus], progress=False).summary(), file=sys.stderr)


def copy_to_postgres(store: Any, url: str) -> Any:
    """The home's documents and chunk rows in PostgreSQL, as a Store over the same vectors
    (a copy made once per database: a store that already holds them is reused)."""
    from assistant.documents import Write
    from assistant.settings import load_settings
    from assistant.store import Store

    pg = Store(load_settings(home=store.settings.home, database_url=url,
                             collection=store.settings.collection), store._embedder)
    if pg.document_count() < store.document_count():
        t = time.perf_counter()
        with pg.writing():
            for r in store.records():
                doc = store.find(r.id)
                chunks = store._docs.chunks_of(doc)
                rows = store.chunk_rows([c.id for c in chunks])
                pg._docs.commit([Write(doc, chunks, [rows[c.id][3] for c in chunks],
                                       r.source_hash)])
        print(f"copied {pg.document_count()} documents into PostgreSQL in "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    return pg


def compare_postgres(a: Any, url: str, questions: list[Any], uri_of: dict[str, str],
                     result: dict[str, Any]) -> None:
    """PostgreSQL's lexical index against FTS5 on the same questions, alternating."""
    from assistant.retrieval import HybridRetriever
    from assistant.types import Filters

    pg = copy_to_postgres(a.store, url)
    pg.lexical_search("warm up", 1)
    sides = {"fts5 shipped": a.store, "postgresql": pg}
    seen: dict[str, dict[str, list[float]]] = {k: {"lex": [], "fused": [], "ms": []}
                                               for k in sides}
    for q, gold in questions:
        f = Filters(as_of=q.date)
        for name, store in sides.items():
            t = time.perf_counter()
            ranked = store.lexical_search(q.question, 40, f)
            seen[name]["ms"].append((time.perf_counter() - t) * 1000)
            seen[name]["lex"].append(hit4([uri_of.get(c, "") for c, _ in ranked], gold))
            hits = HybridRetriever(store).search(q.question, 10, f)
            seen[name]["fused"].append(hit4([h.uri for h in hits], gold))
    for name, got in seen.items():
        ms = sorted(got["ms"])
        result[f"{name} (alternating)"] = {
            "lexical_hit@4": round(statistics.mean(got["lex"]), 3),
            "fused_hit@4": round(statistics.mean(got["fused"]), 3),
            "query_p50_ms": round(statistics.median(ms), 2),
            "query_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2)}
    pg.close()


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
    ap.add_argument("--build", action="store_true", help="ingest the corpus into --home "
                    "first when it is empty")
    ap.add_argument("--database", metavar="URL", help="also rank with a PostgreSQL copy")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.build and not any(args.home.glob("documents-*.sqlite")):
        build_home(args.home, args.data)
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
        if args.database:
            compare_postgres(a, args.database, questions, uri_of, result)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['questions']} questions, {result['chunks']} chunks")
    for name in [label(*c) for c in SETTINGS] + ["bm25s"]:
        r = result[name]
        print(f"{name:28} lexical Hit@4 {r['lexical_hit@4']:.3f}  fused Hit@4 "
              f"{r['fused_hit@4']:.3f}  query p50 {r['query_p50_ms']:.1f} ms  p95 "
              f"{r['query_p95_ms']:.1f} ms  build {result['build_s'][name.split()[0]]:.1f} s")
    for name in [k for k in result if k.endswith("(alternating)")]:
        r = result[name]
        print(f"{name:28} lexical Hit@4 {r['lexical_hit@4']:.3f}  fused Hit@4 "
              f"{r['fused_hit@4']:.3f}  query p50 {r['query_p50_ms']:.1f} ms  p95 "
              f"{r['query_p95_ms']:.1f} ms")


if __name__ == "__main__":
    main()
