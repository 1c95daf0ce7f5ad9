"""What every CLI command shares: the one way to open an Assistant from arguments, and the
arguments of the commands that answer questions."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

_IMPORTED = time.perf_counter()


def wall_seconds() -> float:
    """Seconds since this process started, interpreter start-up included (from /proc on
    Linux; elsewhere since the CLI was imported): what a person waited for."""
    try:
        with open("/proc/self/stat", "rb") as f:
            started = int(f.read().rsplit(b")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime", "rb") as f:
            return max(float(f.read().split()[0]) - started, 0.0)
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


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
    """The filters of ``ask`` and ``chat``, each date checked (one line naming the flag)
    before anything is loaded."""
    from assistant.text import parse_day

    days = {"published_after": ("--after", args.after),
            "published_before": ("--before", args.before), "as_of": ("--as-of", args.as_of)}
    f = {k: parse_day(v, flag) for k, (flag, v) in days.items() if v is not None}
    return {**({"uri": args.uri} if args.uri else {}), **f}
