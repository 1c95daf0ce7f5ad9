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
    groups = result.get("by_year") or result.get("by_split") or {}
    if len(groups) > 1:
        keys = [k for k in GROUP_KEYS if any(k in g["ours"] for g in groups.values())]
        lines += ["", "| " + ("year" if "by_year" in result else "split") + " | n | " +
                  " | ".join(keys) + " |", "| --- | --- |" + " --- |" * len(keys)]
        for name, g in groups.items():
            for side in ("ours", "baseline"):
                if side in g:
                    lines.append(f"| {name} ({side}) | {g['n']} | " + " | ".join(
                        _fmt(g[side].get(k), k) for k in keys) + " |")
    return "\n".join(lines) + "\n"


GROUP_KEYS = ["hit@4", "contains_gold", "quoted_gold", "truthfulness",
              "refusal_rate_unanswerable", "false_refusal_rate", "mc_accuracy"]


def outcome(row: dict, side: str = "ours") -> str:
    """What happened to one question, as the error analysis counts it."""
    r = row[side]
    if row["answerable"]:
        if r["correct"]:
            return "right"
        if r["refused"]:
            return "wrongly refused"
        retrieved = r["hits@k"] and r["hits@k"][5]  # the gold among the 6 hits answered from
        return "wrong sentence chosen" if retrieved else "retrieval missed"
    if row["unanswerable"]:
        return "rightly refused" if r["refused"] else "wrongly answered"
    return "unlabelled"


OUTCOMES = ["right", "rightly refused", "retrieval missed", "wrong sentence chosen",
            "wrongly refused", "wrongly answered"]


def error_table(rows: list[dict]) -> str:
    """Counts of each outcome, and of the refusal reasons given."""
    sides = [s for s in ("ours", "naive") if rows and s in rows[0]]
    lines = ["", "## Outcomes", "", "| outcome | " + " | ".join(sides) + " |",
             "| --- |" + " --- |" * len(sides)]
    for o in OUTCOMES:
        lines.append(f"| {o} | " + " | ".join(str(sum(outcome(r, s) == o for r in rows))
                                              for s in sides) + " |")
    reasons: dict[str, list[int]] = {}
    for r in rows:
        if r["ours"].get("refusal_code") or r["ours"].get("refusal_reason"):
            counts = reasons.setdefault(r["ours"].get("refusal_code") or
                                        r["ours"]["refusal_reason"], [0, 0])
            counts[0 if r["answerable"] else 1] += 1
    if reasons:
        lines += ["", "| refusal reason (ours) | answerable | not answerable |",
                  "| --- | --- | --- |"]
        lines += [f"| {k} | {a} | {u} |" for k, (a, u) in sorted(reasons.items())]
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
    md = markdown(result) + error_table(rows)
    pics = plots(out, rows)
    md += "\n" + "\n".join(f"![{p}]({p})" for p in pics) + "\n"
    (out / "report.md").write_text(md, encoding="utf-8")
