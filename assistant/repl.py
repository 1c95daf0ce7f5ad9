"""The chat REPL (``assistant chat``), a thin layer over ``Assistant.chat()``.

Enter sends; Esc then Enter (or a line ending in a backslash) adds a line. Ctrl-C cancels
the answer being written, not the session; Ctrl-D or /quit leaves.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from assistant.display import format_citations, safe, source_line
from assistant.errors import AssistantError, InvalidDate
from assistant.text import parse_day
from assistant.types import Answer

HELP = """Ask a question about your articles; follow-up questions are understood.
Commands:
  /sources   list the indexed documents
  /reset     forget the conversation so far
  /asof DAY  answer as of DAY (YYYY-MM-DD): nothing published later; "this week" is the
             week before it. /asof alone shows it; /asof today goes back to today.
  /help      this help
  /quit      leave (also Ctrl-D)
Enter sends; Esc then Enter adds a new line. Ctrl-C cancels an answer."""


def _reader(a: Any) -> Callable[[], str]:
    """A prompt_toolkit prompt with history on a terminal; plain lines otherwise."""
    if not sys.stdin.isatty():
        def read_plain() -> str:
            lines = []
            while True:
                line = sys.stdin.readline()
                if not line:
                    if lines:
                        break
                    raise EOFError
                line = line.rstrip("\n")
                if line.endswith("\\"):
                    lines.append(line[:-1])
                    continue
                lines.append(line)
                break
            return "\n".join(lines)
        return read_plain

    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    @keys.add("enter")
    def _enter(event: Any) -> None:
        buf = event.current_buffer
        if buf.text.endswith("\\"):
            buf.delete_before_cursor(1)
            buf.insert_text("\n")
        else:
            buf.validate_and_handle()

    a.settings.home.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(a.settings.home / "chat_history")), key_bindings=keys,
        multiline=True, prompt_continuation="... ")
    return lambda: session.prompt("you> ")


def run_repl(a: Any, filters: dict[str, str]) -> int:
    chat = a.chat()
    read = _reader(a)
    docs = len(a.sources())
    print(f"assistant chat: {docs} documents, answers by {a.answerer.backend}. "
          "/help for commands.", flush=True)
    while True:
        try:
            text = read().strip()
        except KeyboardInterrupt:
            continue
        except EOFError:
            print()
            return 0
        if not text:
            continue
        if text.startswith("/"):
            cmd = text.split()[0].lower()
            if cmd in ("/quit", "/exit", "/q"):
                return 0
            if cmd == "/help":
                print(HELP)
            elif cmd == "/reset":
                chat.reset()
                print("(conversation forgotten)")
            elif cmd == "/asof":
                _as_of(text.split()[1:], filters)
            elif cmd == "/sources":
                for r in a.sources():
                    print(f"  {source_line(r)}")
                if not docs:
                    print("  no documents: run `assistant ingest PATH` first")
            else:
                print(f"unknown command {cmd!r}; /help lists them")
            continue
        try:
            _answer(chat, text, filters)
        except KeyboardInterrupt:  # a Ctrl-C that landed outside the answer's own guard
            print("\n(answer cancelled)", flush=True)


def _as_of(args: list[str], filters: dict[str, str]) -> None:
    """Show or set the day questions are asked as of."""
    if args and args[0].lower() == "today":
        filters.pop("as_of", None)
    elif args:
        try:
            filters["as_of"] = parse_day(args[0], "/asof")
        except InvalidDate as e:
            print(f"error: {safe(str(e))}")
            return
    print(f"(answering as of {filters.get('as_of', 'today')})")


def _answer(chat: Any, question: str, filters: dict[str, str]) -> None:
    final: Answer | None = None
    try:
        print("assistant> ", end="", flush=True)
        for piece in chat.stream(question, **filters):
            if isinstance(piece, Answer):
                final = piece
            else:
                print(safe(piece, lines=True), end="", flush=True)
    except KeyboardInterrupt:
        print("\n(answer cancelled)", flush=True)
        return
    except AssistantError as e:
        print(f"\nerror: {safe(str(e))}", flush=True)
        return
    print(flush=True)
    if final is not None:
        asked = chat.history[-1].asked if chat.history else question
        if asked != question:
            print(f"(understood as: {asked})")
        cites = format_citations(final)
        if cites:
            print(cites.lstrip("\n"), flush=True)
