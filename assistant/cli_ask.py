"""``assistant ask``: one question, answered with cited sources."""

from __future__ import annotations

import argparse
import json
from typing import Any

from assistant.cli_common import answer_args, filters_of, open_assistant, wall_seconds
from assistant.display import format_citations, safe


def add_ask_command(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer one question with cited sources",
                       description="Answer a question from the ingested articles. Every "
                       "sentence cites the exact source words; when the sources do not hold "
                       "the answer, it says so.")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    answer_args(p)
    p.set_defaults(func=cmd_ask)


def cmd_ask(args: argparse.Namespace) -> int:
    filters = filters_of(args)
    with open_assistant(args) as a:
        answer = a.ask(args.question, **filters)
    if args.json:
        out = answer.to_dict()
        print(json.dumps({k: out[k] for k in ("answer", "refused", "refusal_reason", "refusal_code",
                                              "as_of", "backend", "citations")},
                         indent=2, ensure_ascii=False))
        return 0
    print(safe(answer.text, lines=True))
    cites = format_citations(answer)
    if cites:
        print(cites)
    print(f"\n({timing_line(answer.backend, answer.timings, wall_seconds())})")
    return 0


def timing_line(backend: str, timings: dict[str, float], wall: float) -> str:
    """Where the command's time went: the whole wall time, then its parts."""
    retrieve, answer = timings.get("retrieve_ms", 0.0), timings.get("answer_ms", 0.0)
    start = max(wall - (retrieve + answer) / 1000, 0.0)
    return (f"{backend}; {wall:.1f} s in all: start-up and loading {start:.1f} s, "
            f"retrieval {retrieve:.0f} ms, answer {answer:.0f} ms")
