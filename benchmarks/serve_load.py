"""Load on `assistant serve`: N concurrent clients on loopback asking RealTime QA 2026
questions over their articles, without and with an ingest running; then the same
questions through the CLI, one process per question, for comparison.

    python benchmarks/serve_load.py [--articles 300] [--clients 8] [--questions 90]

It builds an index in a temp folder from the first ``--articles`` search-result articles
of ``../shared/eval/realtimeqa/2026`` (the rest feed the concurrent ingest), starts the
server on 127.0.0.1, and sends only there. Every loop is bounded in count and time.
Reports throughput, p50/p95 latency and errors per phase (extractive backend): distinct
questions, distinct questions during an ingest, then the first ones again (warm cache).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest_bench import load_articles  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "realtimeqa" / "2026"


def questions(n: int) -> list[str]:
    qs = [json.loads(line)["question_sentence"] for f in sorted(DATA.glob("*_qa.jsonl"))
          for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (qs * (n // max(len(qs), 1) + 1))[:n]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def load(base: str, qs: list[str], clients: int, deadline_s: float) -> dict[str, float]:
    lat: list[float] = []
    errors = [0]
    todo = list(qs)
    lock = threading.Lock()
    stop = time.monotonic() + deadline_s

    def client() -> None:
        with httpx.Client(timeout=120) as c:
            while time.monotonic() < stop:
                with lock:
                    if not todo:
                        return
                    q = todo.pop()
                t = time.perf_counter()
                try:
                    ok = c.post(f"{base}/api/ask", json={"question": q}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    lat.append((time.perf_counter() - t) * 1000)
                    errors[0] += not ok

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"requests": len(lat), "errors": errors[0], "throughput_rps": len(lat) / wall,
            "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--extra", type=int, default=100, help="articles ingested during load")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--questions", type=int, default=90, help="per phase (distinct)")
    ap.add_argument("--cli-questions", type=int, default=8)
    ap.add_argument("--port", type=int, default=8799)
    args = ap.parse_args()
    arts = load_articles(DATA, args.articles + args.extra)
    tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
    base_file, extra_file = tmp / "base.jsonl", tmp / "extra.jsonl"
    for path, part in ((base_file, arts[:args.articles]), (extra_file, arts[args.articles:])):
        path.write_text("".join(json.dumps(a) + "\n" for a in part), encoding="utf-8")
    env = {**os.environ, "ASSISTANT_HOME": str(tmp / "home")}
    cli = [sys.executable, "-m", "assistant.cli"]
    subprocess.run([*cli, "ingest", "--quiet", str(base_file)], env=env, check=True)
    server = subprocess.Popen([*cli, "serve", "--port", str(args.port)], env=env,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        qs = questions(2 * args.questions)
        first, second = qs[:args.questions], qs[args.questions:]  # no question twice
        out = {"articles": args.articles, "clients": args.clients}
        out["serve"] = load(base, first, args.clients, 600)
        ingest: dict[str, object] = {}

        def run_ingest() -> None:
            t = time.perf_counter()
            with open(extra_file, "rb") as f:
                r = httpx.post(f"{base}/api/ingest", files={"files": ("extra.jsonl", f)},
                               timeout=1800)
            ingest["status"] = r.status_code
            ingest["seconds"] = time.perf_counter() - t
            ingest["summary"] = json.loads(r.text.splitlines()[-1]).get("summary")

        th = threading.Thread(target=run_ingest)
        th.start()
        time.sleep(1.0)
        out["serve_during_ingest"] = load(base, second, args.clients, 600)
        th.join()
        out["ingest"] = ingest
        # the first questions again: their sentences' vectors are cached by now
        out["serve_repeated_questions"] = load(base, first, args.clients, 600)
    finally:
        server.terminate()
        server.wait(30)
    lat = []
    for q in qs[:args.cli_questions]:
        t = time.perf_counter()
        subprocess.run([*cli, "ask", q], env=env, capture_output=True, timeout=600)
        lat.append((time.perf_counter() - t) * 1000)
    out["cli_process_per_question"] = {"requests": len(lat), "p50_ms": statistics.median(lat),
                                       "p95_ms": pct(lat, 95)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
