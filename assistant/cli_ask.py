"""CLI commands of the read side: ``ask`` and ``chat`` (the REPL)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from assistant.terminal import format_citations, safe


def add_ask_commands(sub: Any, settings_args: Callable[[argparse.ArgumentParser], None]) -> None:
    def llm_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--llm", choices=["extractive", "openai", "llama-cpp"],
                       help="answer backend (default: $ASSISTANT_LLM or extractive)")
        p.add_argument("--model", help="LLM model name (openai) ($ASSISTANT_LLM_MODEL)")
        p.add_argument("--base-url", help="OpenAI-compatible endpoint ($ASSISTANT_LLM_BASE_URL)")
        p.add_argument("--top-k", type=int, help="chunks given to the answerer")
        p.add_argument("--uri", help="only documents whose uri starts with this")
        p.add_argument("--after", metavar="YYYY-MM-DD", help="only documents published on "
                       "or after this day")
        p.add_argument("--before", metavar="YYYY-MM-DD", help="only documents published on "
                       "or before this day")
        settings_args(p)

    p = sub.add_parser("ask", help="answer one question with cited sources",
                       description="Answer a question from the ingested articles. Every "
                       "sentence cites the exact source words; when the sources do not hold "
                       "the answer, it says so.")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    llm_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive question answering (REPL)",
                       description="A chat REPL: history, follow-up questions, streaming, "
                       "citations after each answer. Type /help inside.")
    llm_args(p)
    p.set_defaults(func=cmd_chat)


def open_assistant(args: argparse.Namespace) -> Any:
    from assistant.api import Assistant

    overrides = {"llm": args.llm, "llm_model": args.model, "llm_base_url": args.base_url,
                 "top_k": args.top_k}
    return Assistant(home=args.home, **{k: v for k, v in overrides.items() if v is not None})


def filters_of(args: argparse.Namespace) -> dict[str, str]:
    f = {"uri": args.uri, "published_after": args.after, "published_before": args.before}
    return {k: v for k, v in f.items() if v}


def cmd_ask(args: argparse.Namespace) -> int:
    with open_assistant(args) as a:
        answer = a.ask(args.question, **filters_of(args))
    if args.json:
        out = answer.to_dict()
        print(json.dumps({"answer": out["answer"], "refused": out["refused"],
                          "backend": out["backend"], "citations": out["citations"]},
                         indent=2, ensure_ascii=False))
        return 0
    print(safe(answer.text, lines=True))
    print(format_citations(answer))
    print(f"\n({answer.backend}; retrieval {answer.timings.get('retrieve_ms', 0):.0f} ms, "
          f"answer {answer.timings.get('answer_ms', 0):.0f} ms)")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.repl import run_repl

    with open_assistant(args) as a:
        return run_repl(a, filters_of(args))
