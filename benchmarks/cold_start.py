"""Whole-process wall time of a cold question: ours against the naive LangChain script,
alternating (ABAB), medians.

    python benchmarks/cold_start.py [--sources samples/] [--runs 5] [--json out.json]

ours  : ``assistant ask QUESTION`` in a new process, on an index of ``--sources``.
naive : a new Python process that imports langchain-huggingface and langchain-chroma,
        loads HuggingFaceEmbeddings (the same model) and the persisted Chroma store of the
        same sources (RecursiveCharacterTextSplitter 1000/200) and runs one
        similarity_search(k=4): what the LangChain tutorial's query script does.
Also ``assistant sources`` and ``assistant --help``. Both indexes are built first, and
each side runs once before timing, so caches (the int8 export) exist as after a first use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How much has Alibaba committed to AI?"

NAIVE_BUILD = """
import sys
from pathlib import Path
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_huggingface import HuggingFaceEmbeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from assistant.embedder import PACKAGED_MODEL, model_path
emb = HuggingFaceEmbeddings(model_name=str(model_path(PACKAGED_MODEL)))
docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
        for p in sorted(Path(sys.argv[2]).rglob("*")) if p.suffix in (".txt", ".md", ".html")]
splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
Chroma.from_documents(splits, emb, persist_directory=sys.argv[1])
"""

NAIVE_QUERY = """
import sys
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
from assistant.embedder import PACKAGED_MODEL, model_path
emb = HuggingFaceEmbeddings(model_name=str(model_path(PACKAGED_MODEL)))
store = Chroma(persist_directory=sys.argv[1], embedding_function=emb)
print(store.similarity_search(sys.argv[2], k=4)[0].page_content[:80])
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed: {r.stderr[-1500:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=Path, default=ROOT / "samples")
    ap.add_argument("--runs", type=int, default=5, help="rounds of ours, naive (ABAB)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # As a user's Python does, the processes write their bytecode caches on first use
        # (a sandbox's PYTHONDONTWRITEBYTECODE=1 would compile our modules every run).
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "ASSISTANT_HOME": str(Path(tmp) / "home")}
        py = sys.executable
        store = str(Path(tmp) / "naive")
        ours = [py, "-m", "assistant.cli", "ask", QUESTION]
        naive = [py, "-c", NAIVE_QUERY, store, QUESTION]
        others = {"sources": [py, "-m", "assistant.cli", "sources"],
                  "help": [py, "-m", "assistant.cli", "--help"]}
        wall([py, "-m", "assistant.cli", "ingest", "--quiet", str(args.sources)], env)
        wall([py, "-c", NAIVE_BUILD, store, str(args.sources)], env)
        for cmd in (ours, naive):  # first uses: caches made, files in the page cache
            wall(cmd, env)
        times: dict[str, list[float]] = {"ours": [], "naive": [], "sources": [], "help": []}
        for i in range(args.runs):
            for name, cmd in (("ours", ours), ("naive", naive)):
                times[name].append(wall(cmd, env))
            for name, cmd in others.items():
                times[name].append(wall(cmd, env))
            print(f"round {i + 1}: ours {times['ours'][-1]:.2f} s, naive "
                  f"{times['naive'][-1]:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = [o / n for o, n in zip(times["ours"], times["naive"])]
    result = {"runs": args.runs, "median_s": med, "ratio_median": statistics.median(ratios),
              "ratio_range": [min(ratios), max(ratios)], "times_s": times}
    print(f"cold ask: ours median {med['ours']:.2f} s, naive {med['naive']:.2f} s, ratio "
          f"{result['ratio_median']:.2f} ({min(ratios):.2f}-{max(ratios):.2f}); "
          f"`assistant sources` {med['sources']:.2f} s, `--help` {med['help']:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
