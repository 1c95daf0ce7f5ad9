"""Ingest throughput: ours vs the naive LangChain-tutorial pipeline, in the same run.

    python benchmarks/ingest_bench.py [--data ../shared/eval/realtimeqa/2026] [--limit N]
                                      [--pairs 3] [--backend auto|onnx-int8|torch|...]

The two pipelines run alternately (ours, naive, ours, naive, ...: ``--pairs`` of them,
each in a fresh home), so that a noisy machine slows both alike; the result is the median
of the per-pair MB/s ratios with their spread.

Prints documents/s, chunks/s and MB of text/s for
  ours   : Assistant.ingest (sentence chunks, MiniLM int8 on ONNX Runtime, atomic writes)
  encode : raw encode throughput of our model on our chunks (the floor of ours)
  naive  : RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings (same model,
           float32) + Chroma.from_documents
plus the share of our time spent outside embedding and the re-ingest time of the unchanged
set. Model loading is done before any timing, for both pipelines.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "realtimeqa" / "2026"


def load_articles(data: Path, limit: int | None) -> list[dict]:
    seen: dict[str, dict] = {}
    for f in sorted(data.glob("*_gcs.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                for r in json.loads(line).get("search_result") or []:
                    if r.get("url") and r.get("text") and r["url"] not in seen:
                        seen[r["url"]] = {"url": r["url"], "title": r.get("title") or "",
                                          "text": r["text"],
                                          "published": r.get("publish_date") or ""}
    rows = list(seen.values())
    return rows[:limit] if limit else rows


def run_ours(jsonl: Path, home: Path, backend: str = "auto") -> dict:
    from assistant import Assistant

    with Assistant(home=home, embed_backend=backend) as a:
        a.embedder.embed(["warm up"])
        t = time.perf_counter()
        r = a.ingest([jsonl], progress=False)
        first = time.perf_counter() - t
        t = time.perf_counter()
        r2 = a.ingest([jsonl], progress=False)
        again = time.perf_counter() - t
        assert not r2.added and not r2.updated, "re-ingest must find everything unchanged"
        texts = [c.text for rec in a.sources() for c in a.store.chunks_of(rec.id)]
        chars = sum(len(a.document(rec.id).text) for rec in a.sources())
        t = time.perf_counter()
        a.embedder.embed(texts)
        encode = time.perf_counter() - t
    return {"docs": len(r.added), "chunks": r.chunks, "chars": chars, "seconds": first,
            "embedder": a.embedder.name,
            "embed_seconds": r.embed_seconds, "reingest_seconds": again,
            "encode_seconds": encode, "duplicates": len(r.duplicate), "failed": len(r.failed)}


def run_naive(rows: list[dict], path: Path) -> dict:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.embedder import PACKAGED_MODEL, model_path

    emb = HuggingFaceEmbeddings(model_name=str(model_path(PACKAGED_MODEL)),
                                model_kwargs={"device": "cpu"})
    emb.embed_query("warm up")
    t = time.perf_counter()
    docs = [LCDocument(page_content=r["text"], metadata={"source": r["url"]}) for r in rows]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000,
                                            chunk_overlap=200).split_documents(docs)
    Chroma.from_documents(splits, emb, persist_directory=str(path))
    return {"docs": len(rows), "chunks": len(splits), "seconds": time.perf_counter() - t,
            "chars": sum(len(r["text"]) for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder with RealTime QA *_gcs.jsonl.gz files")
    ap.add_argument("--limit", type=int, default=None, help="use the first N articles")
    ap.add_argument("--skip-naive", action="store_true", help="measure ours only")
    ap.add_argument("--pairs", type=int, default=3, help="ours/naive pairs, alternated")
    ap.add_argument("--backend", default="auto", help="our encoder form (embed_backend)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    if not args.data.exists():
        sys.exit(f"error: {args.data}: no such folder (needs ../shared/eval)")
    rows = load_articles(args.data, args.limit)
    pairs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "articles.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"{len(rows)} articles, {jsonl.stat().st_size / 1e6:.1f} MB of JSONL")
        for i in range(args.pairs):
            ours = run_ours(jsonl, Path(tmp) / f"home{i}", args.backend)
            line(f"ours {i + 1}", ours)
            naive = None if args.skip_naive else run_naive(rows, Path(tmp) / f"naive{i}")
            if naive:
                line(f"naive {i + 1}", naive)
            pairs.append({"ours": ours, "naive": naive})
    ours = pairs[-1]["ours"]
    line("encode", {**ours, "seconds": ours["encode_seconds"]})
    other = ours["seconds"] - ours["embed_seconds"]
    print(f"ours ({ours['embedder']}): outside embedding {other:.2f} s = "
          f"{100 * other / ours['seconds']:.1f}% (goal < 20%); re-ingest unchanged "
          f"{ours['reingest_seconds']:.2f} s = "
          f"{100 * ours['reingest_seconds'] / ours['seconds']:.2f}% of first run (goal < 5%)")
    result: dict = {"articles": len(rows), "pairs": pairs}
    if not args.skip_naive:
        ratios = sorted(mb_s(p["ours"]) / mb_s(p["naive"]) for p in pairs)
        result.update(ratio_median=statistics.median(ratios), ratio_min=ratios[0],
                      ratio_max=ratios[-1])
        print(f"MB/s ratio ours/naive over {len(ratios)} pairs: median "
              f"{result['ratio_median']:.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x; "
              "goal >= 2x)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def mb_s(run: dict) -> float:
    return run["chars"] / 1e6 / run["seconds"]


def line(name: str, run: dict) -> None:
    secs = run["seconds"]
    print(f"{name:<8} {run['docs'] / secs:8.2f} docs/s {run['chunks'] / secs:8.1f} chunks/s "
          f"{mb_s(run):7.4f} MB/s  ({run['chunks']} chunks, {secs:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
