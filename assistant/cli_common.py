"""What every CLI command shares: the one way to open an Assistant from arguments, and the
arguments of the commands that answer questions."""

from __future__ import annotations

import argparse
from typing import Any


def settings_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="state directory (default: $ASSISTANT_HOME or ~/.assistant)")


def answer_args(p: argparse.ArgumentParser) -> None:
    """Backend, retrieval size and filters, for `ask` and `chat`."""
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
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="answer as of this day: nothing "
                   "published after it is used (undated documents are)")
    settings_args(p)


def open_assistant(args: argparse.Namespace, **overrides: Any) -> Any:
    """The Assistant for a command: ``--home`` and whichever answer arguments the command
    has (unset ones fall back to env and config), plus ``overrides``."""
    from assistant.api import Assistant

    given = {"llm": getattr(args, "llm", None), "llm_model": getattr(args, "model", None),
             "llm_base_url": getattr(args, "base_url", None),
             "top_k": getattr(args, "top_k", None), **overrides}
    return Assistant(home=args.home, **{k: v for k, v in given.items() if v is not None})


def filters_of(args: argparse.Namespace) -> dict[str, str]:
    f = {"uri": args.uri, "published_after": args.after, "published_before": args.before,
         "as_of": args.as_of}
    return {k: v for k, v in f.items() if v}
