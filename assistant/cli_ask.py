"""``assistant ask``: one question, answered with cited sources."""

from __future__ import annotations

import argparse
import json
from typing import Any

from assistant.cli_common import answer_args, filters_of, open_assistant
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
    with open_assistant(args) as a:
        answer = a.ask(args.question, **filters_of(args))
    if args.json:
        out = answer.to_dict()
        print(json.dumps({k: out[k] for k in ("answer", "refused", "refusal_reason",
                                              "as_of", "backend", "citations")},
                         indent=2, ensure_ascii=False))
        return 0
    print(safe(answer.text, lines=True))
    print(format_citations(answer))
    print(f"\n({answer.backend}; retrieval {answer.timings.get('retrieve_ms', 0):.0f} ms, "
          f"answer {answer.timings.get('answer_ms', 0):.0f} ms)")
    return 0
