"""``assistant chat``: the REPL."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli_common import answer_args, filters_of, open_assistant


def add_chat_command(sub: Any) -> None:
    p = sub.add_parser("chat", help="interactive question answering (REPL)",
                       description="A chat REPL: history, follow-up questions, streaming, "
                       "citations after each answer. Type /help inside.")
    answer_args(p)
    p.set_defaults(func=cmd_chat)


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.repl import run_repl

    filters = filters_of(args)
    with open_assistant(args) as a:
        return run_repl(a, filters)
