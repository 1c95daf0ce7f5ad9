"""Regenerate the README's results table: run the evaluations and rewrite the table.

    python -m assistant.eval.results                      # extractive runs (about 30 minutes)
    python -m assistant.eval.results --llm-base-url http://127.0.0.1:8080/v1 --llm-model qwen
                                                # ... plus the local-LLM run (50 questions)
    python -m assistant.eval.results --table-only         # rebuild the table from eval/out/*

Each run writes eval/out/NAME/report.{md,json}; the table goes between the README's
``<!-- results:start -->`` and ``<!-- results:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from assistant.eval.harness import EvalConfig, run
from assistant.eval.metrics import README_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
SHARED_ROOT = ROOT.parent / "shared"
SHARED = SHARED_ROOT / "eval" / "realtimeqa"
OUT = ROOT / "eval" / "out"
COLUMNS = README_COLUMNS
# The SQuAD 2.0 dev articles the reader never trains on (train_reader's --held-out 8,
# seed 0): its figures and the whole assistant's are measured on them.
SQUAD_HELD_OUT = ["Packet_switching", "1973_oil_crisis", "Warsaw", "Scottish_Parliament",
                  "Fresno,_California", "European_Union_law", "Geology", "Imperialism"]


def runs(llm_url: str | None, llm_model: str | None) -> list[tuple[str, str, EvalConfig]]:
    dev = ROOT / "eval" / "dev_qa.jsonl"
    out = [
        ("devset-test", "our dev set on real articles, test split, extractive",
         EvalConfig(dataset="jsonl", data=dev, out=OUT / "devset-test", corpus=SHARED_ROOT,
                    split="test")),
        ("devset-dev", "our dev set on real articles, dev split, extractive",
         EvalConfig(dataset="jsonl", data=dev, out=OUT / "devset-dev", corpus=SHARED_ROOT,
                    split="dev")),
        ("full", "RealTime QA both years, every article (1,508), per-question dates, "
         "extractive", EvalConfig(dataset="realtimeqa", data=SHARED, out=OUT / "full",
                                  choices=True, keep_index=True)),
        ("full-undated", "the same, every question asked as of today (no dates), extractive",
         EvalConfig(dataset="realtimeqa", data=SHARED, out=OUT / "full-undated", choices=True,
                    keep_index=True, baseline=False, dated=False)),
        ("samples", "our 20 questions, extractive, 25% gold withheld",
         EvalConfig(dataset="jsonl", data=ROOT / "eval" / "samples_qa.jsonl", out=OUT / "samples",
                    corpus=ROOT / "samples", withhold_gold=0.25, seed=1)),
        ("squad2-heldout", "SQuAD 2.0 dev, the 8 articles the reader never trains on, each "
         "one document, 400 questions, extractive",
         EvalConfig(dataset="squad", data=SHARED_ROOT / "train" / "squad2-dev-25-articles.json.gz",
                    out=OUT / "squad2-heldout", articles=SQUAD_HELD_OUT, limit=400, seed=0,
                    baseline=False)),
        ("rtqa2022", "RealTime QA 2022, extractive, 20% gold withheld",
         EvalConfig(dataset="realtimeqa", data=SHARED / "2022", out=OUT / "rtqa2022", withhold_gold=0.2,
                    choices=True)),
        ("rtqa2026", "RealTime QA 2026 search results, extractive, 20% gold withheld",
         EvalConfig(dataset="realtimeqa", data=SHARED / "2026", out=OUT / "rtqa2026", withhold_gold=0.2,
                    choices=True)),
    ]
    if llm_url:
        out.append(("full-llm", f"RealTime QA 2026 questions over every article (1,508), "
                    f"per-question dates, multiple choice only, local LLM ({llm_model}), "
                    "80 questions", EvalConfig(
                        dataset="realtimeqa", data=SHARED, out=OUT / "full-llm", llm="openai",
                        choices=True, free_form=False, year="2026", limit=80, seed=0,
                        keep_index=True, baseline=False, llm_base_url=llm_url,
                        llm_model=llm_model)))
        out.append(("rtqa2022-llm", f"RealTime QA 2022, local LLM ({llm_model}), 50 "
                    "questions, 20% gold withheld",
                    EvalConfig(dataset="realtimeqa", data=SHARED / "2022", out=OUT / "rtqa2022-llm",
                               llm="openai", limit=50, seed=0, withhold_gold=0.2,
                               llm_base_url=llm_url, llm_model=llm_model)))
    return out


def table() -> str:
    lines = ["| run | n | metric | " + " | ".join(COLUMNS) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |"]
    for report in sorted(OUT.glob("*/report.json")):
        r = json.loads(report.read_text())
        label = r["settings"].get("label") or report.parent.name
        for side, name in (("ours", "ours"), ("baseline", "naive")):
            vals = r.get(side)
            if not vals:  # a run without the baseline
                continue
            cells = ["n/a" if vals.get(k) is None else
                     f"{vals[k]:.0f}" if k.endswith("_ms") else f"{vals[k]:.2f}"
                     for k in COLUMNS]
            lines.append(f"| {label} | {r['n']} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    body = readme.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- results:start -->\n).*?(<!-- results:end -->)",
                 lambda m: m.group(1) + text + "\n" + m.group(2), body, flags=re.S)
    readme.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description="Regenerate the README's results table.")
    ap.add_argument("--llm-base-url", help="also run the local-LLM evaluation against this "
                    "OpenAI-compatible endpoint")
    ap.add_argument("--llm-model", default="local", help="model name for that endpoint")
    ap.add_argument("--only", nargs="*", help="run only these names (devset-test, "
                    "devset-dev, full, full-undated, samples, squad2-heldout, rtqa2022, "
                    "rtqa2026, full-llm, rtqa2022-llm)")
    ap.add_argument("--table-only", action="store_true", help="do not run; rebuild the "
                    "table from eval/out/*/report.json")
    args = ap.parse_args()
    if not args.table_only:
        for name, label, cfg in runs(args.llm_base_url, args.llm_model):
            if args.only and name not in args.only:
                continue
            print(f"running {name}: {label}", flush=True)
            result = run(cfg)
            result["settings"]["label"] = label
            (cfg.out / "report.json").write_text(json.dumps(result, indent=2))
    text = table()
    write_readme(text)
    print(text)


if __name__ == "__main__":
    main()
