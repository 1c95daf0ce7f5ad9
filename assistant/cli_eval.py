"""``assistant eval``: measure ours against the naive baseline on a dataset."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any


def add_eval_command(sub: Any) -> None:
    p = sub.add_parser("eval", help="evaluate answers and citations against a naive RAG "
                       "baseline", description="Build a fresh index inside --out, run the "
                       "questions through ours and the naive LangChain-tutorial pipeline, "
                       "and write report.md, report.json, answers.jsonl and plots.")
    p.add_argument("--dataset", required=True, choices=["realtimeqa", "jsonl", "squad"],
                   help="dataset format")
    p.add_argument("--data", required=True, type=Path,
                   help="RealTime QA folder, a questions .jsonl file, or a SQuAD "
                   ".json[.gz] file")
    p.add_argument("--articles", help="with --dataset squad: only these article titles, "
                   "comma-separated (a comma inside a title, as in Fresno,_California, is "
                   "followed by an underscore)")
    p.add_argument("--corpus", type=Path, help="with --dataset jsonl: files to ingest, or "
                   "the folder the dataset's article names are relative to (../shared)")
    p.add_argument("--split", default="all", choices=["dev", "test", "all"],
                   help="with --dataset jsonl: the questions of one split")
    p.add_argument("--keep-index", action="store_true", help="reuse the index a previous "
                   "run left in --out (only new or changed articles are ingested)")
    p.add_argument("--undated", action="store_true", help="ask every question as of "
                   "today, not as of its own date (RealTime QA)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--llm", default="extractive", choices=["extractive", "openai",
                                                            "llama-cpp"],
                   help="answer backend for ours and the baseline")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (with --llm openai)")
    p.add_argument("--model", help="model name (with --llm openai)")
    p.add_argument("--limit", type=int, help="a random sample of N questions")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--withhold-gold", type=float, default=0.0, metavar="FRACTION",
                   help="leave the gold articles of this fraction of questions out of the "
                   "index, making them unanswerable")
    p.add_argument("--no-baseline", action="store_true", help="skip the naive pipeline")
    p.add_argument("--choices", action="store_true", help="also the multiple-choice setting: "
                   "show the choices and score the chosen index (RealTime QA)")
    p.add_argument("--choices-only", action="store_true", help="the multiple-choice "
                   "setting alone, without free-form answers (implies --choices)")
    p.add_argument("--year", help="only the questions asked in this year (RealTime QA)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.eval.harness import EvalConfig, run
    from assistant.eval.report import markdown

    cfg = EvalConfig(dataset=args.dataset, data=args.data, out=args.out, llm=args.llm,
                     limit=args.limit, seed=args.seed, withhold_gold=args.withhold_gold,
                     corpus=args.corpus, llm_base_url=args.base_url, llm_model=args.model,
                     baseline=not args.no_baseline,
                     choices=args.choices or args.choices_only,
                     free_form=not args.choices_only, year=args.year,
                     split=args.split, dated=not args.undated,
                     keep_index=args.keep_index,
                     articles=re.split(r",(?!_)", args.articles) if args.articles else None)
    result = run(cfg)
    print(markdown(result))
    print(f"wrote {args.out / 'report.md'}, report.json, answers.jsonl and plots")
    return 0
