"""The benchmarks run (small sizes here; the README gives the measured large ones)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SHARED = ROOT.parent / "shared" / "eval" / "realtimeqa"


def run(*args: str, timeout: int = 600) -> str:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.parametrize("server", [False, True], ids=["embedded", "chroma-server"])
def test_scale_benchmark_reports_its_fields(server: bool) -> None:
    out = run("benchmarks/scale.py", "--chunks", "600", "--queries", "10",
              "--incremental", "20", "--json", *(["--server"] if server else []))
    r = json.loads(out)
    assert r["chunks"] == 600 + 200 and r["backend"] == ("server" if server else "embedded")
    for key in ("load_s", "incremental_1k_s", "query_p50_ms", "query_p95_ms",
                "filtered_p50_ms", "rss_mb"):
        assert r[key] > 0, key
    assert r["query_p50_ms"] <= r["query_p95_ms"]
    assert ("server_rss_mb" in r) == server


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/eval (RealTime QA)")
def test_ingest_benchmark_alternates_ours_and_naive(tmp_path) -> None:
    out = run("benchmarks/ingest_bench.py", "--data", str(SHARED / "2026"), "--limit", "3",
              "--pairs", "2", "--json", str(tmp_path / "r.json"))
    lines = [ln.split()[0] + " " + ln.split()[1] for ln in out.splitlines()
             if ln.startswith(("ours ", "naive ")) and ln.split()[1].isdigit()]
    assert lines == ["ours 1", "naive 1", "ours 2", "naive 2"], out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"] and len(r["pairs"]) == 2


def test_cold_start_benchmark_alternates_ours_and_naive(tmp_path) -> None:
    out = run("benchmarks/cold_start.py", "--runs", "1", "--json", str(tmp_path / "r.json"))
    assert "round 1: ours" in out and "naive" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert len(r["times_s"]["ours"]) == len(r["times_s"]["naive"]) == 1
    assert r["median_s"]["ours"] > 0 and r["median_s"]["sources"] > 0 and r["ratio_median"] > 0


def test_ask_latency_benchmark_compares_stored_and_computed_sentence_vectors() -> None:
    out = run("benchmarks/ask_latency.py", "--ingest", "samples/", "--questions",
              "eval/samples_qa.jsonl", "--limit", "3", "--sentences")
    assert "sentence vectors computed per question: median" in out, out
    assert "sentence vectors stored at ingest: median" in out, out
