"""Eval outputs: report.json, report.md, answers.jsonl and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.eval.metrics import NAMES, OPTIONAL

KEYS = [k for k in NAMES if k not in OPTIONAL]


def _fmt(v: float | None, key: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0f}" if key.endswith("_ms") else f"{v:.3f}"


def markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    lines = [f"# Evaluation: {result['dataset']} ({result['n']} questions)", "",
             f"Data `{s['data']}`, backend `{s['llm']}`, limit {s['limit']}, seed {s['seed']}, "
             f"withheld gold fraction {s['withhold_gold']} ({s['withheld_articles']} "
             f"articles), {s['ingested_docs']} documents indexed in "
             f"{float(s['ingest_seconds']):.1f} s.", "",
             "| metric | ours | naive | ours / naive (or difference) |", "| --- | --- | --- | --- |"]
    base = result.get("baseline") or {}
    extra = [k for k in result["ours"] if k not in KEYS]
    for k in KEYS + extra:
        o, b = result["ours"].get(k), base.get(k)
        ratio = (f"{o / b:.2f}x" if isinstance(o, float) and isinstance(b, float) and o > 0
                 and b > 0 else f"{o - b:+.3f}" if isinstance(o, float) and
                 isinstance(b, float) else "n/a")
        lines.append(f"| {k} | {_fmt(o, k)} | {_fmt(b, k)} | {ratio} |")
    return "\n".join(lines) + "\n"


def calibration(rows: list[dict]) -> str:
    """How the relevance threshold (ASSISTANT_MIN_RELEVANCE) would split answerable and
    unanswerable questions: the data for choosing it."""
    pos = [r["ours"]["relevance"] for r in rows if r["answerable"]]
    neg = [r["ours"]["relevance"] for r in rows if r["unanswerable"]]
    if not pos or not neg or None in pos + neg:
        return ""
    lines = ["", "## Relevance threshold calibration", "",
             "| min_relevance | unanswerable refused by the gate | answerable refused by "
             "the gate |", "| --- | --- | --- |"]
    for t in [0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]:
        lines.append(f"| {t:.2f} | {sum(v < t for v in neg) / len(neg):.3f} | "
                     f"{sum(v < t for v in pos) / len(pos):.3f} |")
    return "\n".join(lines) + "\n"


def plots(out: Path, rows: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("ours", "naive"):
        curves = [r[name]["hits@k"] for r in rows if name in r and r[name]["hits@k"]]
        if curves:
            ys = [sum(c[k] for c in curves) / len(curves) for k in range(10)]
            ax.plot(range(1, 11), ys, marker="o", label=name)
    ax.set(xlabel="k", ylabel="Hit@k", title="Retrieval: gold article in the top k",
           ylim=(0, 1))
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hit_at_k.png", dpi=100)
    made.append("hit_at_k.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("ours", "naive"):
        lat = [r[name]["latency_ms"] for r in rows if name in r]
        if lat:
            ax.hist(lat, bins=30, alpha=0.6, label=name)
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title="Answer latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    made.append("latency.png")
    plt.close("all")
    return made


def write_outputs(out: Path, result: dict[str, Any], rows: list[dict]) -> None:
    (out / "report.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    with open(out / "answers.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    md = markdown(result) + calibration(rows)
    pics = plots(out, rows)
    md += "\n" + "\n".join(f"![{p}]({p})" for p in pics) + "\n"
    (out / "report.md").write_text(md, encoding="utf-8")
